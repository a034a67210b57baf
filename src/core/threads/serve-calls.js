// The thread side of worker-pool.ts: each call's message to `handle`, its reply (or the error it
// threw) back. Plain JavaScript, so that a worker written in JavaScript loads it from the sources
// (the test runner compiles only what it imports itself).
import { parentPort } from 'node:worker_threads';

/**
 * Answers the pool's calls with `handle(message)`: `{ reply, transfer? }`, where `transfer` lists
 * the buffers handed back without a copy.
 * @param {(message: any) => { reply: unknown, transfer?: ArrayBuffer[] }} handle
 */
export function serveCalls(handle) {
  parentPort.on('message', ({ id, message }) => {
    let answer;
    try {
      answer = handle(message);
    } catch (err) {
      parentPort.postMessage({ id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
      return;
    }
    parentPort.postMessage({ id, reply: answer.reply }, answer.transfer ?? []);
  });
}
