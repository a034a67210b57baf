// batch-explain view: the page's script. Plain JS, no build step, nothing loaded from elsewhere.
// Every value from the file reaches the page through textContent or an attribute, never as HTML.

import { $, api, el, fmt } from './dom.mjs';
import { renderCharts } from './charts.mjs';
import { exportMarks, loadMarks, saveMarks, toggleMark } from './marks.mjs';

const state = {
  summary: null,
  filters: { label: '', flag: '', reason: '' },
  q: '',
  page: 0,
  pages: 1,
  total: 0,
  size: 50,
  // A search goes on from a row: the cursors of the pages before this one, and the next page's.
  cursors: [0],
  next: null,
  rows: [],
  selected: 0,
  detail: null,
  marks: new Map(),
  loading: 0,
};


function renderReport() {
  renderCharts(state.summary, state.filters, (name) => (key) => setFilter(name, state.filters[name] === key ? '' : key));
}

function fillSelect(select, values, current) {
  for (const v of values) select.append(el('option', { value: v, text: v, selected: v === current }));
}

// ---- the list ---------------------------------------------------------------------------
function query(extra = {}) {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...state.filters, ...extra })) if (v !== '' && v !== undefined && v !== null) p.set(k, String(v));
  p.set('size', String(state.size));
  return p;
}

async function load() {
  const ticket = ++state.loading;
  $('status').textContent = 'Loading…';
  try {
    if (state.q) {
      // A search comes back in steps (each reads up to 64 MiB): go on until the page is full or the file ends.
      let from = state.cursors[state.page];
      const rows = [];
      let next = from;
      while (rows.length < state.size && next !== null) {
        const data = await (await api(`/api/rows?${query({ q: state.q, from: next, size: state.size - rows.length })}`)).json();
        if (ticket !== state.loading) return;
        rows.push(...data.rows);
        next = data.next;
        if (next !== null && rows.length < state.size) $('status').textContent = `Searching… row ${fmt(next)} of ${fmt(state.summary.rows)}`;
      }
      state.rows = rows;
      state.next = next;
      state.cursors[state.page + 1] = next;
      $('page-info').textContent = rows.length ? `matches ${fmt(state.page * state.size + 1)}–${fmt(state.page * state.size + rows.length)}${next === null ? '' : '+'}` : 'no match';
    } else {
      const data = await (await api(`/api/rows?${query({ page: state.page })}`)).json();
      if (ticket !== state.loading) return;
      state.rows = data.rows;
      state.total = data.total;
      state.pages = data.pages;
      $('page-info').textContent = data.total ? `rows ${fmt(data.page * data.size + 1)}–${fmt(data.page * data.size + data.rows.length)} of ${fmt(data.total)}` : 'no row';
    }
    state.selected = Math.min(state.selected, Math.max(0, state.rows.length - 1));
    renderRows();
    $('status').textContent = '';
  } catch (err) {
    if (ticket === state.loading) $('status').textContent = `Error: ${err.message}`;
  }
  updatePager();
}

function updatePager() {
  const searching = Boolean(state.q);
  $('prev-page').disabled = state.page === 0;
  $('first-page').disabled = state.page === 0;
  $('next-page').disabled = searching ? state.next === null : state.page >= state.pages - 1;
  $('last-page').disabled = searching || state.page >= state.pages - 1;
}

function flagBadges(flags) {
  return el('div', { class: 'flags' }, ...flags.map((f) => el('span', { class: `flag ${f === 'missing' ? 'missing' : ''}`, text: f })));
}

function renderRows() {
  const list = $('rows');
  list.replaceChildren(
    ...state.rows.map((r, i) => {
      const box = el('input', { type: 'checkbox', 'aria-label': `mark ${r.id ?? `row ${r.n}`}`, checked: state.marks.has(r.n), onclick: (e) => (e.stopPropagation(), toggleMark(state, r)) });
      const picture = r.hasImage ? el('img', { class: 'thumb', src: `/api/rows/${r.n}/thumb`, alt: `image of ${r.id ?? `row ${r.n}`}`, loading: 'lazy' }) : el('div', { class: 'no-image', text: 'no image' });
      const explanation = r.explanation === null
        ? el('p', { class: 'explanation missing', text: `no explanation${r.reason ? ` (${r.reason})` : ''}` })
        : el('p', { class: 'explanation', dir: r.explanationDir, text: r.explanation });
      return el(
        'article',
        { class: `row${i === state.selected ? ' selected' : ''}${state.marks.has(r.n) ? ' marked' : ''}`, 'data-n': r.n, onclick: () => select(i), ondblclick: () => openDetail(i) },
        box,
        picture,
        el('div', { class: 'meta' }, el('span', { class: 'id', text: `${r.id ?? '(no id)'} · line ${fmt(r.line)}` }), el('span', {}, el('span', { class: 'label', text: r.label })), r.text ? el('p', { class: 'text', dir: r.textDir, text: r.text }) : el('p', { class: 'text muted', text: '(no text)' })),
        el('div', { class: 'meta' }, flagBadges(r.flags), explanation, el('span', { class: 'muted small', text: r.explanation === null ? '' : `${r.words} words` })),
      );
    }),
  );
  if (state.rows.length === 0) list.append(el('p', { class: 'muted', text: 'No row matches.' }));
}

function select(i) {
  if (i < 0 || i >= state.rows.length) return;
  state.selected = i;
  document.querySelectorAll('.row.selected').forEach((e) => e.classList.remove('selected'));
  const card = document.querySelectorAll('.row')[i];
  card?.classList.add('selected');
  card?.scrollIntoView({ block: 'nearest' });
}

function setFilter(name, value) {
  state.filters[name] = value;
  $(`filter-${name}`).value = value;
  restart();
}

function restart() {
  state.page = 0;
  state.cursors = [0];
  state.selected = 0;
  renderReport();
  load();
}

function goPage(delta) {
  if (delta > 0 && (state.q ? state.next === null : state.page >= state.pages - 1)) return;
  if (delta < 0 && state.page === 0) return;
  state.page += delta;
  state.selected = delta > 0 ? 0 : state.size - 1;
  load();
}

// ---- a row at full size ------------------------------------------------------------------
async function openDetail(i) {
  const r = state.rows[i];
  if (!r) return;
  select(i);
  const data = await (await api(`/api/rows/${r.n}`)).json();
  state.detail = data;
  $('detail-title').textContent = `${data.id ?? '(no id)'} · line ${fmt(data.line)} · ${data.label}`;
  $('detail-mark').textContent = state.marks.has(data.n) ? 'Unmark (x)' : 'Mark (x)';
  const img = $('detail-image');
  img.hidden = !data.hasImage;
  img.alt = `image of ${data.id ?? `row ${data.n}`}`;
  $('detail-image-note').textContent = data.hasImage ? '' : 'no image';
  if (data.hasImage) {
    img.onerror = () => ($('detail-image-note').textContent = 'the image cannot be shown (missing, not an image, or outside the image root)');
    img.src = `/api/rows/${data.n}/image`;
  }
  $('detail-flags').replaceChildren(flagBadges(data.flags));
  const text = $('detail-text');
  text.textContent = data.text ?? '(no text)';
  text.dir = data.textDir;
  const ex = $('detail-explanation');
  ex.textContent = data.explanation ?? 'no explanation';
  ex.dir = data.explanationDir;
  ex.classList.toggle('missing', data.explanation === null);
  $('detail-words').textContent = data.explanation === null ? '' : `${data.words} words`;
  const failure = $('detail-failure');
  failure.hidden = !data.failure;
  if (data.failure) failure.textContent = `${data.failure.reason}${data.failure.code ? ` (${data.failure.code})` : ''}: ${data.failure.message ?? ''}`;
  const fields = $('detail-fields');
  const row = data.row && typeof data.row === 'object' ? data.row : { '(line)': String(data.row) };
  fields.replaceChildren(...Object.entries(row).map(([k, v]) => el('tr', {}, el('td', { text: k }), el('td', { dir: 'auto', text: typeof v === 'string' ? v : JSON.stringify(v) }))));
  $('detail').hidden = false;
}

function closeDetail() {
  $('detail').hidden = true;
  $('detail-image').removeAttribute('src');
  state.detail = null;
}

function moveDetail(delta) {
  const i = state.selected + delta;
  if (i >= 0 && i < state.rows.length) openDetail(i);
}

// ---- keys -----------------------------------------------------------------------------
function onKey(e) {
  if ((e.target instanceof HTMLInputElement && e.target.type !== 'checkbox') || e.target instanceof HTMLSelectElement) {
    if (e.key === 'Escape') e.target.blur();
    return;
  }
  // A focused button answers Enter and Space itself; any other key moves on to the rows.
  if (e.target instanceof HTMLButtonElement) {
    if (e.key === 'Enter' || e.key === ' ') return;
    e.target.blur();
  }
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const detail = !$('detail').hidden;
  const help = !$('help').hidden;
  const row = detail ? state.detail : state.rows[state.selected];
  const keys = {
    j: () => (detail ? moveDetail(1) : select(state.selected + 1)),
    ArrowDown: () => (detail ? moveDetail(1) : select(state.selected + 1)),
    k: () => (detail ? moveDetail(-1) : select(state.selected - 1)),
    ArrowUp: () => (detail ? moveDetail(-1) : select(state.selected - 1)),
    Enter: () => openDetail(state.selected),
    o: () => openDetail(state.selected),
    Escape: () => (help ? ($('help').hidden = true) : closeDetail()),
    x: () => toggleMark(state, row),
    m: () => toggleMark(state, row),
    n: () => !detail && goPage(1),
    ArrowRight: () => !detail && goPage(1),
    p: () => !detail && goPage(-1),
    ArrowLeft: () => !detail && goPage(-1),
    '/': () => $('search').focus(),
    e: () => exportMarks(state),
    '?': () => ($('help').hidden = !$('help').hidden),
  };
  const action = keys[e.key];
  if (action) {
    e.preventDefault();
    action();
  }
}

// ---- start ------------------------------------------------------------------------------
async function start() {
  state.summary = await (await api('/api/summary')).json();
  document.title = `batch-explain view: ${state.summary.input}`;
  loadMarks(state);
  saveMarks(state);
  fillSelect($('filter-label'), state.summary.labels, '');
  fillSelect($('filter-flag'), state.summary.flags, '');
  fillSelect($('filter-reason'), state.summary.reasons, '');
  for (const name of ['label', 'flag', 'reason']) $(`filter-${name}`).addEventListener('change', (e) => setFilter(name, e.target.value));
  let timer;
  $('search').addEventListener('input', (e) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.q = e.target.value.trim();
      restart();
    }, 250);
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      clearTimeout(timer);
      state.q = e.target.value.trim();
      restart();
    }
  });
  $('clear-filters').addEventListener('click', () => {
    state.filters = { label: '', flag: '', reason: '' };
    state.q = '';
    $('search').value = '';
    for (const name of ['label', 'flag', 'reason']) $(`filter-${name}`).value = '';
    restart();
  });
  $('first-page').addEventListener('click', () => goPage(-state.page));
  $('prev-page').addEventListener('click', () => goPage(-1));
  $('next-page').addEventListener('click', () => goPage(1));
  $('last-page').addEventListener('click', () => goPage(state.pages - 1 - state.page));
  $('export').addEventListener('click', () => exportMarks(state).catch((err) => ($('export-note').textContent = `Export failed: ${err.message}`)));
  $('clear-marks').addEventListener('click', () => {
    state.marks.clear();
    saveMarks(state);
    renderRows();
  });
  $('detail-close').addEventListener('click', closeDetail);
  $('detail-prev').addEventListener('click', () => moveDetail(-1));
  $('detail-next').addEventListener('click', () => moveDetail(1));
  $('detail-mark').addEventListener('click', () => toggleMark(state, state.detail));
  $('detail').addEventListener('click', (e) => e.target === $('detail') && closeDetail());
  $('help-close').addEventListener('click', () => ($('help').hidden = true));
  document.addEventListener('keydown', onKey);
  renderReport();
  await load();
  document.body.dataset.ready = 'true';
}

start().catch((err) => ($('status').textContent = `Error: ${err.message}`));
