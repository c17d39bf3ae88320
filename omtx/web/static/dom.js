// Elements are built from text nodes and attributes only (never innerHTML), so a ligand named
// `<script>` or `=HYPERLINK(...)` is always shown as the text it is.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'value') el.value = value;
    else if (key === 'checked') el.checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(el, ...children) { el.replaceChildren(); append(el, children); return el; }

export function title(text) { document.title = `${text} · OMTX-Hub`; }

export function decimalsOf(values, cap = 4) {
  let most = 0;
  for (const v of values) {
    if (typeof v !== 'number' || Number.isInteger(v)) continue;
    const text = String(v);
    const dot = text.indexOf('.');
    if (dot >= 0 && !text.includes('e')) most = Math.max(most, text.length - dot - 1);
    else most = cap;
  }
  return Math.min(most, cap);
}

export function fmt(value, decimals = 0) {
  if (value === undefined || value === null || value === '') return '';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'number') return value.toLocaleString('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

export function duration(seconds) {
  if (seconds === undefined || seconds === null) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}

export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toLocaleString('en-GB', { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export const FINAL = new Set(['completed', 'completed_with_failures', 'failed', 'cancelled']);

export function badge(status) { return h('span', { class: `badge s-${status}` }, status.replaceAll('_', ' ')); }

export function progressBar(batch) {
  const total = Math.max(batch.total, 1);
  const ok = (100 * batch.succeeded) / total;
  const bad = (100 * batch.failed) / total;
  return h('div', { class: 'bar', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': batch.total, 'aria-valuenow': batch.done,
    'aria-label': `${batch.done} of ${batch.total} jobs done` },
  h('span', { style: `width:${ok}%` }), h('span', { class: 'failed', style: `left:${ok}%;width:${bad}%` }));
}

export function problem(error) {
  return h('p', { class: 'error', role: 'alert' }, error.message || String(error));
}

export function card(label, value) { return h('div', { class: 'card' }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label)); }

// Spreadsheet apps run a cell starting with = + - @ tab or CR as a formula (omtx/spreadsheet.py).
const FORMULA = /^[=+\-@\t\r]/;
export function csvCell(value) {
  if (value === undefined || value === null) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && FORMULA.test(text)) text = "'" + text;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
