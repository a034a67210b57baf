import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatDuration, progress } from '../../bin/progress.js';

/** What a terminal (or a log file) was sent: a stream that keeps its text. */
function screen(isTTY: boolean): NodeJS.WriteStream & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return Object.assign(stream, { isTTY, columns: 160, text: () => chunks.join('') }) as unknown as NodeJS.WriteStream & { text: () => string };
}

/** The frames drawn from the first column: the text between escape codes and line starts. */
const frames = (output: string, label: string) => output.replace(/\u001b\[[0-9;?]*[a-zA-Z]|\u001b[78]/g, '\n').split(/\r|\n/).filter((l) => l.startsWith(`${label} `));

// Work that goes at a steady 5% a second, on the fake clock: at 10 s, half done, 10 s to go.
const steady = () => ({ text: `${Date.now() / 200} rows`, fraction: Date.now() / 20_000 });

describe('progress, frame by frame (fake timers: no frame depends on how busy the machine is)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on a terminal: a bar, percent, the figures and the ETA from the rate so far; cursor hidden, then the bar cleared and the cursor back', () => {
    const tty = screen(true);
    const p = progress({ quiet: false, label: 'build', stream: tty });
    expect(p.live).toBe(true);
    p.start(steady);
    // Drawn at once, before any tick: short work shows a frame too (no rate yet: no ETA).
    expect(frames(tty.text(), 'build')[0]).toBe(`build ${'░'.repeat(40)} 0% | 0 rows`);
    vi.advanceTimersByTime(10_000);
    const drawn = frames(tty.text(), 'build').map((f) => f.trimEnd());
    expect(drawn.at(-1)).toBe(`build ${'█'.repeat(20)}${'░'.repeat(20)} 50% | 50 rows | ETA 10s`);
    for (const f of drawn) expect(f).toMatch(/^build [█░]{40} \d+% \| [\d.]+ rows( \| ETA \d+s)?$/);
    p.log('a line above the bar');
    vi.advanceTimersByTime(400);
    expect(tty.text()).toContain('a line above the bar\n');
    p.stop();
    p.stop(); // twice is safe
    const output = tty.text();
    expect(output).toContain('\u001b[?25l');
    expect(output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(output.lastIndexOf('ETA 10s'));
    // Nothing more is drawn once stopped.
    vi.advanceTimersByTime(5_000);
    expect(tty.text()).toBe(output);
  });

  it('on a terminal, with no known total: the figures alone, no bar and no ETA', () => {
    const tty = screen(true);
    const p = progress({ quiet: false, label: 'merge', stream: tty });
    p.start(() => ({ text: `step 1 of 5: dataset ids | ${Date.now() / 1000}s` }));
    vi.advanceTimersByTime(3_000);
    expect(frames(tty.text(), 'merge').at(-1)!.trimEnd()).toBe('merge | step 1 of 5: dataset ids | 3s');
    p.stop();
  });

  it('elsewhere: a plain line every interval with percent and ETA, no escape codes; nothing after stop', () => {
    const log = screen(false);
    const p = progress({ quiet: false, label: 'build', stream: log, intervalMs: 2_000 });
    expect(p.live).toBe(false);
    p.start(steady);
    expect(log.text()).toBe('');
    vi.advanceTimersByTime(10_000);
    p.log('a line');
    p.stop();
    vi.advanceTimersByTime(10_000);
    expect(log.text().split('\n')).toEqual([
      'build: 10 rows | 10%, ETA 18s',
      'build: 20 rows | 20%, ETA 16s',
      'build: 30 rows | 30%, ETA 14s',
      'build: 40 rows | 40%, ETA 12s',
      'build: 50 rows | 50%, ETA 10s',
      'a line',
      '',
    ]);
  });

  it('--quiet: nothing at all', () => {
    const tty = screen(true);
    const p = progress({ quiet: true, label: 'build', stream: tty });
    p.start(steady);
    p.log('a line');
    vi.advanceTimersByTime(10_000);
    p.stop();
    expect(tty.text()).toBe('');
  });

  it('says durations as people read them', () => {
    expect([0, 9.6, 42, 60, 185, 3599, 3600, 7620].map(formatDuration)).toEqual(['0s', '10s', '42s', '1m 00s', '3m 05s', '59m 59s', '1h 00m', '2h 07m']);
  });
});
