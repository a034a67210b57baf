// The report on top of the viewer: totals, bars (click to filter) and the word-count histogram, in SVG.
import { $, el, fmt } from './dom.mjs';

function bars(container, items, { onPick, active, cls } = {}) {
  container.replaceChildren();
  const top = Math.max(1, ...items.map((i) => i.value));
  for (const item of items) {
    const fill = el('div', { class: `bar-fill ${item.cls ?? cls ?? ''}` });
    fill.style.width = `${(item.value / top) * 100}%`;
    const label = el('span', { class: `bar-label${active === item.key ? ' active' : ''}`, title: item.title ?? item.name, text: item.name, 'data-key': item.key });
    if (onPick) label.addEventListener('click', () => onPick(item.key));
    container.append(label, el('div', { class: 'bar-track' }, fill), el('span', { class: 'bar-value', text: item.valueText ?? fmt(item.value) }));
  }
  if (items.length === 0) container.append(el('span', { class: 'muted small', text: 'none' }));
}

function histogram(container, bins, s) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const w = 600;
  const h = 130;
  svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', 'Explanations by word count');
  const top = Math.max(1, ...bins.map((b) => b.rows));
  const bw = w / bins.length;
  bins.forEach((b, i) => {
    const bh = (b.rows / top) * (h - 28);
    const r = document.createElementNS(ns, 'rect');
    const out = (b.to ?? Infinity) < s.checks.minWords || b.from > s.checks.maxWords;
    r.setAttribute('class', `bin${out ? ' out' : ''}`);
    r.setAttribute('x', String(i * bw + 1));
    r.setAttribute('y', String(h - 16 - bh));
    r.setAttribute('width', String(bw - 2));
    r.setAttribute('height', String(bh));
    const t = document.createElementNS(ns, 'title');
    t.textContent = `${b.to === null ? `${b.from}+` : `${b.from}–${b.to}`} words: ${fmt(b.rows)} rows`;
    r.append(t);
    svg.append(r);
    if (i % 5 === 0) {
      const x = document.createElementNS(ns, 'text');
      x.setAttribute('x', String(i * bw + 1));
      x.setAttribute('y', String(h - 3));
      x.textContent = String(b.from);
      svg.append(x);
    }
  });
  container.replaceChildren(svg);
}

export function renderCharts(s, filters, pick) {
  $('file').textContent = s.input;
  $('totals').replaceChildren(
    el('b', { text: fmt(s.rows) }), ' rows: ',
    el('b', { text: fmt(s.explained) }), ' explained, ',
    el('b', { text: fmt(s.missing) }), ' without an explanation, ',
    el('b', { text: fmt(s.flaggedRows) }), ` flagged. Indexed in ${s.indexSeconds.toFixed(1)} s${s.thumbnails ? '' : '; thumbnails are the original images (sharp is not installed)'}.`,
  );
  bars($('chart-flags'), s.flags.map((f) => ({ key: f, name: f, value: s.byFlag[f], cls: f === 'missing' ? 'bad' : 'warn' })), { onPick: pick('flag'), active: filters.flag });
  bars($('chart-reasons'), Object.entries(s.byReason).map(([k, v]) => ({ key: k, name: k, value: v, cls: 'bad' })), { onPick: pick('reason'), active: filters.reason });
  bars(
    $('chart-labels'),
    s.byLabel.map((l) => ({ key: l.label, name: l.label, value: l.rows, valueText: `${fmt(l.rows)} · ${fmt(l.explained)} · ${l.medianWords ?? '–'}` })),
    { onPick: pick('label'), active: filters.label },
  );
  histogram($('chart-words'), s.wordHistogram, s);
  $('words').textContent = s.words.median === null ? 'no explanation yet' : `min ${s.words.min}, median ${s.words.median}, mean ${s.words.mean}, max ${s.words.max}; orange: outside ${s.checks.minWords}–${s.checks.maxWords}`;
  $('checks').textContent = `too_short < ${s.checks.minWords} words, too_long > ${s.checks.maxWords}; wrong_language: ${s.checks.script ? `not in ${s.checks.script} script` : 'not checked (no --prompt or --language)'}`;
  $('repeated').replaceChildren(...(s.topRepeated.length ? s.topRepeated.map((t) => el('li', {}, el('b', { text: `${fmt(t.count)}× ` }), el('span', { dir: 'auto', text: t.text }), el('span', { class: 'muted', text: t.firstId ? ` (first: ${t.firstId})` : '' }))) : [el('li', { class: 'muted', text: 'no explanation is repeated' })]));
}

