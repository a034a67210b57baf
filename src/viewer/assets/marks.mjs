// Marks: kept in this browser per file (localStorage), exported as the ids file resubmit --ids reads.
import { $, api, el, fmt } from './dom.mjs';

function marksKey(state) {
  return `batch-explain-marks:${state.summary.input}:${state.summary.rows}`;
}
export function loadMarks(state) {
  try {
    for (const [n, id] of JSON.parse(localStorage.getItem(marksKey(state)) ?? '[]')) state.marks.set(n, id);
  } catch {}
}
export function saveMarks(state) {
  try {
    localStorage.setItem(marksKey(state), JSON.stringify([...state.marks]));
  } catch {}
  $('marked-count').textContent = `${fmt(state.marks.size)} marked`;
  $('export').disabled = state.marks.size === 0;
  $('clear-marks').disabled = state.marks.size === 0;
}
export function toggleMark(state, row) {
  if (!row) return;
  if (state.marks.has(row.n)) state.marks.delete(row.n);
  else state.marks.set(row.n, row.id);
  saveMarks(state);
  for (const card of document.querySelectorAll(`.row[data-n="${row.n}"]`)) {
    card.classList.toggle('marked', state.marks.has(row.n));
    const box = card.querySelector('input[type=checkbox]');
    if (box) box.checked = state.marks.has(row.n);
  }
  if (state.detail?.n === row.n) $('detail-mark').textContent = state.marks.has(row.n) ? 'Unmark (x)' : 'Mark (x)';
}
export async function exportMarks(state) {
  if (state.marks.size === 0) return;
  const res = await api('/api/export', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ rows: [...state.marks.keys()] }) });
  const blob = await res.blob();
  const skipped = Number(res.headers.get('x-rows-without-id') ?? 0);
  const a = el('a', { href: URL.createObjectURL(blob), download: 'marked-ids.jsonl' });
  document.body.append(a);
  a.click();
  a.remove();
  $('export-note').textContent =
    `marked-ids.jsonl: ${fmt(state.marks.size - skipped)} ids${skipped ? ` (${skipped} rows without an id left out)` : ''}. ` +
    'Next: batch-explain resubmit --dataset DATASET --prompt PROMPT --ids marked-ids.jsonl';
}

