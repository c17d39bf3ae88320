// My batches: newest first, a page at a time (the API's cursor). Unfinished batches are polled
// (GET /v1/batches/{id} every 2 s while the tab is visible) rather than streamed: the API runs as
// request-scoped Cloud Run functions, where an open event stream would hold an instance per
// viewer, and a batch's progress is already one aggregated read (its counter shards).
import { api } from './api.js';
import { FINAL, badge, duration, fmt, h, problem, progressBar, replace, title, when } from './dom.js';

const PAGE = 20;
const SCAN_PAGES = 10; // a name/label filter scans at most this many API pages per screen
const POLL_MS = 2000;
const STATUSES = ['', 'queued', 'dispatching', 'running', 'completed', 'completed_with_failures', 'failed', 'cancelled'];

function matches(batch, text) {
  if (!text) return true;
  const needle = text.toLowerCase();
  const labels = Object.entries(batch.labels || {}).map(([k, v]) => `${k}=${v}`);
  return [batch.name || '', batch.batch_id, ...labels].some((s) => s.toLowerCase().includes(needle));
}

function row(batch) {
  return h('tr', { 'data-batch': batch.batch_id },
    h('td', {}, h('a', { href: `/ui/batches/${batch.batch_id}` }, batch.name || batch.batch_id),
      h('div', { class: 'help' }, batch.batch_id, ...Object.entries(batch.labels || {}).map(([k, v]) => ` · ${k}=${v}`))),
    h('td', {}, batch.model),
    h('td', {}, badge(batch.status)),
    h('td', {}, progressBar(batch), h('div', { class: 'help' }, `${Math.round(100 * batch.progress)} %`)),
    h('td', { class: 'num' }, fmt(batch.succeeded)),
    h('td', { class: 'num' }, fmt(batch.failed)),
    h('td', { class: 'num' }, fmt(batch.total)),
    h('td', { class: 'num' }, FINAL.has(batch.status) ? '—' : duration(batch.eta_s)),
    h('td', { class: 'hide-narrow' }, when(batch.created_at)),
    h('td', { class: 'hide-narrow' }, when(batch.finished_at)));
}

export async function render(main) {
  title('My batches');
  const params = new URLSearchParams(location.search);
  const state = { status: params.get('status') || '', text: params.get('q') || '', cursors: [null] };
  const status = h('select', { id: 'f-status', name: 'status' }, STATUSES.map((s) => h('option', { value: s, selected: s === state.status }, s ? s.replaceAll('_', ' ') : 'any status')));
  const text = h('input', { type: 'search', id: 'f-text', name: 'q', value: state.text, placeholder: 'name, label or id' });
  const body = h('tbody');
  const note = h('p', { class: 'help', role: 'status' });
  const prev = h('button', { type: 'button', onclick: () => { state.cursors.pop(); state.cursors.pop(); load(); } }, '← Newer');
  const next = h('button', { type: 'button', onclick: () => load() }, 'Older →');
  let timer = null;

  async function load() {
    clearTimeout(timer);
    const cursor = state.cursors[state.cursors.length - 1];
    let found = [];
    let next_cursor = cursor;
    let scanned = 0;
    try {
      do {
        const page = await api.batches({ status: state.status, limit: state.text ? 100 : PAGE, cursor: next_cursor });
        found = found.concat(page.batches.filter((b) => matches(b, state.text)));
        next_cursor = page.next_cursor;
        scanned += page.batches.length;
      } while (state.text && found.length < PAGE && next_cursor && scanned < SCAN_PAGES * 100);
    } catch (error) {
      replace(note, problem(error));
      return;
    }
    state.cursors.push(next_cursor);
    replace(body, found.length ? found.map(row) : h('tr', {}, h('td', { colspan: 10, class: 'muted' }, 'No batches here. ', h('a', { href: '/ui/new' }, 'Submit one'))));
    replace(note, state.text ? `${found.length} matching among ${scanned} batches searched` : '');
    prev.disabled = state.cursors.length <= 2;
    next.disabled = !next_cursor;
    poll(found);
  }

  function poll(shown) {
    const live = shown.filter((b) => !FINAL.has(b.status));
    if (!live.length) return;
    timer = setTimeout(async () => {
      if (document.visibilityState === 'visible') {
        for (const batch of live) {
          const fresh = await api.batch(batch.batch_id).catch(() => batch);
          body.querySelector(`tr[data-batch="${batch.batch_id}"]`)?.replaceWith(row(fresh));
          Object.assign(batch, fresh);
        }
      }
      poll(shown);
    }, POLL_MS);
  }

  function refilter() {
    state.status = status.value;
    state.text = text.value.trim();
    state.cursors = [null];
    history.replaceState(null, '', location.pathname + (state.status || state.text ? '?' + new URLSearchParams({ status: state.status, q: state.text }) : ''));
    load();
  }
  status.addEventListener('change', refilter);
  let debounce;
  text.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(refilter, 300); });

  replace(main,
    h('div', { class: 'row' }, h('h1', {}, 'My batches'), h('a', { class: 'button', href: '/ui/new' }, 'New batch')),
    h('div', { class: 'filters' },
      h('div', {}, h('label', { for: 'f-status' }, 'Status'), status),
      h('div', {}, h('label', { for: 'f-text' }, 'Name or label'), text)),
    note,
    h('div', { class: 'scroll' }, h('table', { id: 'batches' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Batch'), h('th', {}, 'Model'), h('th', {}, 'Status'), h('th', {}, 'Progress'),
        h('th', { class: 'num' }, 'Succeeded'), h('th', { class: 'num' }, 'Failed'), h('th', { class: 'num' }, 'Jobs'),
        h('th', { class: 'num' }, 'ETA'), h('th', { class: 'hide-narrow' }, 'Created'), h('th', { class: 'hide-narrow' }, 'Finished'))),
      body)),
    h('div', { class: 'pager' }, prev, next));
  await load();
}
