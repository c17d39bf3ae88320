// The results table: every job reachable through the API's server-side sort (order_by), range
// filters (min_/max_<metric>), status filter and cursor paging; text search when the API offers
// `q`. A column chooser, units in the headers, the same decimals down a column, failed rows with
// their reason, roving keyboard focus (↑/↓, Home/End, Enter opens the job), a brushable histogram
// of the primary metric, and "download this view".
import { api } from './api.js';
import { csvCell, decimalsOf, fmt, h, problem, replace } from './dom.js';
import { histogram } from './histogram.js';

const EXPORT_PAGE = 1000;
const PAGE_SIZE = 50;
const FIXED = ['index', 'depiction', 'ligand_name', 'smiles', 'status'];

// The table's first page (no sort, no filter), for a page to ask for beside its own first data
// and hand to resultsTable: the first screen then waits for one round trip, not two in turn.
export function firstPage(batchId) {
  const pending = api.results(batchId, { limit: PAGE_SIZE });
  pending.catch(() => {});
  return pending;
}

export function resultsTable(batchId, spec, prefetched = null) {
  const metrics = spec ? spec.metrics : [];
  const units = Object.fromEntries(metrics.map((m) => [m.name, m.unit]));
  const primary = spec ? spec.primary_metric : null;
  const stored = JSON.parse(localStorage.getItem(`omtx.columns.${spec?.name}`) || 'null');
  const state = { order: '', status: '', q: '', ranges: {}, cursors: [null], size: PAGE_SIZE, metricNames: metrics.map((m) => m.name),
    hidden: new Set(stored || []) };
  const head = h('thead');
  const body = h('tbody');
  const note = h('div', { class: 'help', role: 'status', 'aria-live': 'polite', id: 'results-note' });
  const error = h('div');
  const statusSelect = h('select', { id: 'r-status' }, ['', 'succeeded', 'failed', 'running', 'queued', 'cancelled'].map((s) => h('option', { value: s }, s || 'any status')));
  const search = h('input', { type: 'search', id: 'r-search', placeholder: 'name, SMILES or InChIKey', disabled: true, title: 'needs text search in the results API (q)' });
  const sizeSelect = h('select', { id: 'r-size' }, [25, 50, 100, 250].map((n) => h('option', { value: n, selected: n === PAGE_SIZE }, n)));
  const rangesBox = h('div', { class: 'ranges', id: 'r-ranges' });
  const chooser = h('div');
  const prev = h('button', { type: 'button', id: 'r-prev', onclick: () => { state.cursors.splice(-2, 2); load(); } }, '← Previous');
  const next = h('button', { type: 'button', id: 'r-next', onclick: () => load() }, 'Next →');
  const download = h('button', { type: 'button', id: 'r-download', onclick: () => exportView() }, 'Download this view (CSV)');
  const hist = histogram(primary, units[primary], (low, high) => {
    setRange(primary, low, high);
    restart();
  });
  let capabilities = { facets: false, viewExport: false, search: false };

  function params() {
    const out = { order_by: state.order, status: state.status, q: state.q, limit: state.size };
    for (const [name, { min, max }] of Object.entries(state.ranges)) {
      if (min !== '' && min !== undefined) out[`min_${name}`] = min;
      if (max !== '' && max !== undefined) out[`max_${name}`] = max;
    }
    return out;
  }

  // The 2D column appears once the API hands out depictions (a ligand.svg per job).
  function columns(jobs) {
    const depictions = jobs.some((j) => j.links['ligand.svg']);
    return [...FIXED, ...state.metricNames, 'reason'].filter((c) => !state.hidden.has(c) && (c !== 'depiction' || depictions));
  }

  function header(name) {
    if (!state.metricNames.includes(name)) {
      const text = { index: '#', depiction: '2D', ligand_name: 'Ligand', smiles: 'SMILES', status: 'Status', reason: 'Reason' }[name];
      return h('th', { class: name === 'index' ? 'num' : null, scope: 'col' }, text);
    }
    const sort = state.order === name ? 'ascending' : state.order === `-${name}` ? 'descending' : 'none';
    return h('th', { class: 'num', scope: 'col', 'aria-sort': sort, 'data-metric': name },
      h('button', { type: 'button', class: 'sort', title: `Sort by ${name}`, onclick: () => { state.order = state.order === name ? `-${name}` : name; restart(); } },
        name, units[name] ? h('span', { class: 'unit' }, ` (${units[name]})`) : null, sort === 'ascending' ? ' ▲' : sort === 'descending' ? ' ▼' : ''));
  }

  function cell(name, job, decimals) {
    switch (name) {
      case 'index': return h('td', { class: 'num' }, job.index);
      case 'depiction': return h('td', {}, job.links['ligand.svg'] ? h('img', { class: 'depiction', src: job.links['ligand.svg'], alt: `2D structure of ${job.ligand_name}`, loading: 'lazy' }) : '');
      case 'ligand_name': return h('td', {}, h('a', { href: `/ui/batches/${batchId}/jobs/${job.job_id}`, tabindex: -1 }, job.ligand_name));
      case 'smiles': return h('td', { class: 'smiles' }, job.smiles);
      case 'status': return h('td', {}, job.status);
      case 'reason': return h('td', { class: 'reason' }, job.error || '');
      default: {
        const value = job.metrics[name];
        return h('td', { class: 'num' }, typeof value === 'number' ? fmt(value, decimals[name]) : fmt(value));
      }
    }
  }

  function drawChooser() {
    const all = [...FIXED.filter((c) => c !== 'index'), ...state.metricNames, 'reason'];
    replace(chooser, h('details', { class: 'columns' }, h('summary', {}, 'Columns'),
      h('div', {}, all.map((c) => h('label', {}, h('input', { type: 'checkbox', checked: !state.hidden.has(c),
        onchange: (event) => {
          if (event.target.checked) state.hidden.delete(c); else state.hidden.add(c);
          localStorage.setItem(`omtx.columns.${spec?.name}`, JSON.stringify([...state.hidden]));
          draw(lastJobs);
        } }), ' ', c, units[c] ? ` (${units[c]})` : '')))));
  }

  function drawRanges() {
    replace(rangesBox, state.metricNames.map((name) => {
      const r = state.ranges[name] || {};
      const read = () => { setRange(name, rangesBox.querySelector(`[id="r-min-${name}"]`).value, rangesBox.querySelector(`[id="r-max-${name}"]`).value); restart(); };
      const input = (bound) => h('input', { type: 'number', step: 'any', id: `r-${bound}-${name}`, value: r[bound] ?? '', 'aria-label': `${bound} ${name}`, onchange: read });
      return h('div', {}, h('label', { for: `r-min-${name}` }, name, units[name] ? h('span', { class: 'help' }, ` (${units[name]})`) : null), input('min'), ' – ', input('max'));
    }));
  }

  // Inputs keep their element (and focus) while typing; a brush or a reset writes into them.
  function setRange(name, min, max) {
    if ((min === '' || min === undefined || min === null) && (max === '' || max === undefined || max === null)) delete state.ranges[name];
    else state.ranges[name] = { min: min ?? '', max: max ?? '' };
    for (const bound of ['min', 'max']) {
      const input = rangesBox.querySelector(`[id="r-${bound}-${name}"]`);
      if (input) input.value = state.ranges[name]?.[bound] ?? '';
    }
  }

  let lastJobs = [];
  function draw(jobs) {
    lastJobs = jobs;
    const cols = columns(jobs);
    const decimals = Object.fromEntries(state.metricNames.map((m) => [m, decimalsOf(jobs.map((j) => j.metrics[m]))]));
    replace(head, h('tr', {}, cols.map(header)));
    replace(body, jobs.length ? jobs.map((job, i) => h('tr', { tabindex: i === 0 ? 0 : -1, 'data-job': job.job_id, class: job.status === 'failed' ? 'failed' : null },
      cols.map((c) => { const td = cell(c, job, decimals); td.dataset.col = c; return td; }))) : h('tr', {}, h('td', { colspan: cols.length, class: 'muted' }, 'No jobs match.')));
  }

  // Roving focus: one row is in the tab order; arrows move it, Enter opens the job.
  body.addEventListener('keydown', (event) => {
    const row = event.target.closest('tr[data-job]');
    if (!row) return;
    const rows = [...body.querySelectorAll('tr[data-job]')];
    const at = rows.indexOf(row);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: rows.length - 1 }[event.key];
    if (event.key === 'Enter') { location.assign(`/ui/batches/${batchId}/jobs/${row.dataset.job}`); return; }
    if (to === undefined || !rows[to]) return;
    event.preventDefault();
    row.tabIndex = -1;
    rows[to].tabIndex = 0;
    rows[to].focus();
  });

  // Only the latest request draws: an answer to an earlier filter that arrives late is dropped.
  let ticket = 0;
  async function load(pending = null) {
    const mine = ++ticket;
    const cursor = state.cursors[state.cursors.length - 1];
    const started = performance.now();
    body.dataset.state = 'loading';
    try {
      const page = await (pending || api.results(batchId, { ...params(), cursor }));
      if (mine !== ticket) return;
      const seen = new Set(state.metricNames);
      const known = seen.size;
      for (const job of page.jobs) for (const [k, v] of Object.entries(job.metrics)) if (!seen.has(k) && typeof v === 'number') { seen.add(k); state.metricNames.push(k); }
      if (seen.size > known) { drawRanges(); drawChooser(); }
      draw(page.jobs);
      state.cursors.push(page.next_cursor);
      prev.disabled = state.cursors.length <= 2;
      next.disabled = !page.next_cursor;
      replace(error);
      const first = (state.cursors.length - 2) * state.size;
      replace(note, page.jobs.length ? `rows ${first + 1}–${first + page.jobs.length}${page.next_cursor ? '' : ' (last page)'}` : '',
        state.order ? ` · ordered by ${state.order.replace(/^-/, '')} ${state.order.startsWith('-') ? 'descending' : 'ascending'}: jobs without it come last` : '');
      body.dataset.loadedMs = String(Math.round(performance.now() - started));
    } catch (err) {
      if (mine !== ticket) return;
      replace(error, problem(err));
    }
    body.dataset.state = 'ready';
  }

  function restart() {
    state.cursors = [null];
    statusSelect.value = state.status;
    hist.load(histogramValues);
    return load();
  }

  // The primary metric's distribution under the other filters: the facets endpoint when the API
  // has it, else one page of up to 1,000 values (said so under the chart).
  async function histogramValues() {
    if (!primary) return null;
    const p = params();
    delete p[`min_${primary}`]; delete p[`max_${primary}`]; delete p.order_by; delete p.limit;
    if (capabilities.facets) {
      const facets = await api.facets(batchId, p);
      const f = facets.metrics?.[primary] || facets[primary];
      if (f?.histogram) return { bins: f.histogram, complete: true, selected: state.ranges[primary] };
    }
    const page = await api.results(batchId, { ...p, order_by: primary, limit: 1000 });
    return { values: page.jobs.map((j) => j.metrics[primary]).filter((v) => typeof v === 'number'), complete: !page.next_cursor, selected: state.ranges[primary] };
  }

  async function exportView() {
    const p = params();
    delete p.limit;
    if (capabilities.viewExport) { location.assign(api.viewExportUrl(batchId, 'csv', p)); return; }
    download.disabled = true;
    const names = state.metricNames;
    const lines = [['index', 'job_id', 'ligand_name', 'smiles', 'canonical_smiles', 'inchikey', 'status', ...names, 'error'].join(',')];
    let cursor = null;
    try {
      do {
        const page = await api.results(batchId, { ...p, limit: EXPORT_PAGE, cursor });
        for (const j of page.jobs) {
          lines.push([j.index, j.job_id, j.ligand_name, j.smiles, j.canonical_smiles, j.inchikey, j.status, ...names.map((n) => j.metrics[n]), j.error].map(csvCell).join(','));
        }
        cursor = page.next_cursor;
        replace(note, `exporting… ${lines.length - 1} rows`);
      } while (cursor);
      const url = URL.createObjectURL(new Blob(['\uFEFF' + lines.join('\r\n') + '\r\n'], { type: 'text/csv' }));
      const a = h('a', { href: url, download: `${batchId}-view.csv` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
      replace(note, `downloaded ${lines.length - 1} rows`);
    } catch (err) {
      replace(error, problem(err));
    } finally {
      download.disabled = false;
    }
  }

  statusSelect.addEventListener('change', () => { state.status = statusSelect.value; restart(); });
  sizeSelect.addEventListener('change', () => { state.size = Number(sizeSelect.value); restart(); });
  let debounce;
  search.addEventListener('input', () => { clearTimeout(debounce); debounce = setTimeout(() => { state.q = search.value.trim(); restart(); }, 300); });

  const element = h('section', { id: 'results', 'aria-label': 'Results' },
    h('div', { class: 'filters' },
      h('div', {}, h('label', { for: 'r-status' }, 'Status'), statusSelect),
      h('div', {}, h('label', { for: 'r-search' }, 'Search'), search),
      h('div', {}, h('label', { for: 'r-size' }, 'Rows per page'), sizeSelect),
      chooser, download,
      h('button', { type: 'button', onclick: () => { state.ranges = {}; state.order = ''; state.status = ''; drawRanges(); restart(); } }, 'Reset')),
    hist.element,
    h('details', {}, h('summary', {}, 'Range filters'), rangesBox),
    error, note,
    h('div', { class: 'scroll' }, h('table', { id: 'results-table' }, head, body)),
    h('div', { class: 'pager' }, prev, next));

  return {
    element,
    // The first page is asked for at once; the API's capabilities (its OpenAPI document) and the
    // histogram (facets of every row) come after it, so neither delays the first screen.
    async reload() {
      drawChooser();
      drawRanges();
      state.cursors = [null];
      // The prefetched first page answers the first load only (its view is the initial state's).
      const first = load(prefetched);
      prefetched = null;
      capabilities = await api.capabilities().catch(() => capabilities);
      search.disabled = !capabilities.search;
      if (capabilities.search) search.removeAttribute('title');
      await first;
      hist.load(histogramValues);
    },
  };
}
