import { setFlagsFromString } from 'node:v8';

/**
 * Lets V8 give back, before `run`'s merge, the heap its build grew: the young generation at its
 * 16 MB (two 8 MB semi-spaces) and old-space pages. V8 shrinks them only in a collection that
 * reduces memory, which it starts by itself when the process is idle (at 200,000 rows `run`
 * waited long enough for it, at a million the downloads kept it busy up to the merge). With
 * V8's `--optimize-for-size` set and a major collection started (`gc`, there when Node runs with
 * `--expose-gc`, as the CLI's shebang starts it), the young generation went 16 → 1–4 MB and the
 * merge of a million rows peaked at 150.5–152.1 MB instead of 169.8–199.0, its phase ~1 s
 * longer (of ~14); a whole merge with the flag took the same CPU (bench/RESULTS.md). The flag
 * holds until the returned function sets it back (the next build must not run with it: its young
 * generation would stay small, 10–15% slower).
 */
export function shrinkHeap(gc = (globalThis as { gc?: GcFunction }).gc): () => void {
  setFlagsFromString('--optimize-for-size');
  gc?.({ type: 'major', execution: 'async' });
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    setFlagsFromString('--no-optimize-for-size');
  };
}

/**
 * For `onUploadRead`: a minor collection every {@link UPLOAD_GC_BYTES} of shards read for upload.
 * An upload allocates little but its 64 KiB pieces, which live outside V8's heap: the young
 * generation fills slowly, and V8 left 20–35 MB of sent pieces uncollected at a time, the peak
 * of `run` (bench/RESULTS.md). One collection takes about a millisecond with our young generation.
 */
export function uploadGarbageCollector(gc = (globalThis as { gc?: GcFunction }).gc): (bytes: number) => void {
  let read = 0;
  return (bytes) => {
    read += bytes;
    if (read < UPLOAD_GC_BYTES) return;
    read = 0;
    gc?.({ type: 'minor', execution: 'sync' });
  };
}

export const UPLOAD_GC_BYTES = 8 << 20;

type GcFunction = (options: { type: 'major' | 'minor'; execution: 'sync' | 'async' }) => void;
