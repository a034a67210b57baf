/**
 * Text from data (a dataset, a result, an API's answer) made safe to show on a terminal: control
 * characters (C0 but tab, DEL, C1, so ESC and the CSI and OSC sequences it starts) are written as
 * visible escapes, so that no byte of the data can clear a screen, set a title or move the cursor.
 */

// C0 but tab and line feed, DEL, C1.
const CONTROLS_BUT_LINE_BREAKS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const CONTROLS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
const JSON_UNESCAPED_CONTROLS = /[\u007f-\u009f]/g;

/**
 * `text` with its control characters shown as `\n`, `\r` or `\xHH`. With `keepLineBreaks`, line
 * feeds stay (a message's own lines); otherwise they are escaped too (one value on one line).
 */
export function escapeControls(text: string, keepLineBreaks = false): string {
  return text.replace(keepLineBreaks ? CONTROLS_BUT_LINE_BREAKS : CONTROLS, visible);
}

/** JSON text safe on a terminal: JSON escapes C0 itself; DEL and C1 become `\u00HH` escapes (still JSON). */
export function terminalSafeJson(json: string): string {
  return json.replace(JSON_UNESCAPED_CONTROLS, (c) => `\\u00${c.charCodeAt(0).toString(16)}`);
}

function visible(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
