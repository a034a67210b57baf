import { escapeControls, terminalSafeJson } from '../src/core/io/terminal-text.js';

/**
 * Every line the CLI writes for a person goes through these: control characters that came from
 * data (a dataset, a result, an API's answer, a file name) are shown escaped, never acted on by the
 * terminal. Line breaks and tabs of the text stay. Data outputs (JSONL) are not written here.
 */

/** Text for a person on stderr (messages, summaries, logs). */
export function say(text: string): void {
  process.stderr.write(escapeControls(text, true));
}

/** Text for a person on stdout (a table, a report). */
export function print(text: string): void {
  process.stdout.write(escapeControls(text, true));
}

/** JSON for scripts on stdout, with DEL and C1 characters written as `\u00HH` (JSON escapes C0 itself). */
export function printJson(json: string): void {
  process.stdout.write(terminalSafeJson(json));
}
