/** The dataset layout a job's manifest recorded (its `run` event's `mapping`), read without opening the job. */
import { existsSync } from 'node:fs';
import { fileLines } from '../../core/io/file-lines.js';
import type { JobMapping } from '../../core/dataset/mapping.js';

/** The manifest's recorded mapping; undefined when the file is absent, has no run yet, or the job used JSONL with the default fields. */
export async function recordedMapping(manifestPath: string): Promise<JobMapping | undefined> {
  if (!existsSync(manifestPath)) return undefined;
  for await (const { text } of fileLines(manifestPath)) {
    let event: { type?: unknown; mapping?: JobMapping };
    try {
      event = JSON.parse(text);
    } catch {
      continue; // a torn last line: the manifest's own reader says so when the job is opened
    }
    if (event.type === 'run') return event.mapping;
  }
  return undefined;
}
