// Batch page: progress with milestones and ETA, counts, webhook deliveries, actions (with
// confirmation), downloads and the results table. Polls GET /v1/batches/{id} every 2 s until the
// batch is final (see batches.js for why polling), then loads the results once more.
import { api } from './api.js';
import { FINAL, badge, card, duration, fmt, h, problem, progressBar, replace, title, when } from './dom.js';
import { firstPage, resultsTable } from './results.js';

const POLL_MS = 2000;
const DOWNLOADS = [
  ['batch_results.csv', 'CSV'], ['batch_results.parquet', 'Parquet'], ['aggregated.json', 'JSON'],
  ['summary.json', 'Summary'], ['report.html', 'Report'], ['job_index.json', 'Job index'],
];

function milestones(batch) {
  const percent = (key) => Number(String(key).replace(/\D/g, ''));
  const items = Object.entries(batch.milestones || {}).sort((a, b) => percent(a[0]) - percent(b[0]));
  if (!items.length) return h('p', { class: 'help' }, 'No milestone yet (recorded at 25, 50, 75 and 100 %).');
  return h('ol', { class: 'milestones' }, items.map(([key, m]) => h('li', {}, `${percent(key)} % — ${fmt(m.done)} jobs done at ${when(m.at)}`)));
}

function webhooks(batch) {
  if (!batch.webhook_url) return h('p', { class: 'help' }, 'No webhook for this batch.');
  if (!batch.webhooks.length) return h('p', { class: 'help' }, `Webhook ${batch.webhook_url}: nothing sent yet.`);
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, h('th', {}, 'Event'), h('th', {}, 'State'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Delivered'), h('th', {}, 'Error'))),
    h('tbody', {}, batch.webhooks.map((w) => h('tr', {}, h('td', {}, w.event_type), h('td', {}, w.state), h('td', { class: 'num' }, fmt(w.attempts.length)),
      h('td', {}, when(w.delivered_at)), h('td', { class: 'reason' }, w.error || ''))))));
}

export async function render(main, batchId) {
  // Asked for together, with the results' first page: the first screen waits for the slowest of
  // the three, not for each in turn.
  const first = firstPage(batchId);
  const [models, loaded] = await Promise.all([api.models(), api.batch(batchId)]);
  let batch = loaded;
  const spec = models.find((m) => m.name === batch.model);
  title(batch.name || batchId);
  const status = h('div', { id: 'batch-status' });
  const actions = h('div', { class: 'row', id: 'actions' });
  const downloads = h('div', { class: 'row', id: 'downloads' });
  const events = h('div');
  const message = h('div', { role: 'status', 'aria-live': 'polite' });
  const table = resultsTable(batchId, spec, first);
  // A final batch is finalised a moment later (its result files written): only then may it be
  // deleted, and only then are its downloads there.
  const written = () => Object.keys(batch.links).some((k) => k !== 'self' && k !== 'results');
  let settleChecks = 0;

  async function act(label, question, run) {
    if (!window.confirm(question)) return;
    try {
      await run();
      replace(message, h('p', { class: 'ok' }, `${label}: done`));
      if (label === 'Delete') { location.assign('/ui/'); return; }
      await refresh();
    } catch (error) { replace(message, problem(error)); }
  }

  function draw() {
    replace(status,
      h('div', { class: 'row' }, badge(batch.status), h('div', { style: 'flex:1;min-width:200px' }, progressBar(batch)),
        h('span', { id: 'progress-text' }, `${fmt(batch.done)} / ${fmt(batch.total)} done (${Math.round(100 * batch.progress)} %)`)),
      h('div', { class: 'row', style: 'margin-top:10px' },
        card('succeeded', fmt(batch.succeeded)), card('failed', fmt(batch.failed)), card('jobs', fmt(batch.total)),
        card('rows refused at submit', fmt(batch.rejected)), batch.cancelled ? card('cancelled', fmt(batch.cancelled)) : null,
        card('ETA', FINAL.has(batch.status) ? '—' : duration(batch.eta_s)),
        card('throughput', batch.jobs_per_s ? `${fmt(batch.jobs_per_s, 1)} jobs/s` : '—')),
      h('dl', { class: 'meta', style: 'margin-top:10px' },
        h('dt', {}, 'Batch'), h('dd', {}, batchId, batch.revision ? ` (revision ${batch.revision})` : ''),
        h('dt', {}, 'Model'), h('dd', {}, `${batch.model} (${batch.model_version})`),
        h('dt', {}, 'Protein'), h('dd', {}, `${batch.protein.id}, ${fmt(batch.protein.sequence.length)} residues`),
        h('dt', {}, 'Created'), h('dd', {}, when(batch.created_at)),
        h('dt', {}, 'Started'), h('dd', {}, when(batch.started_at)),
        h('dt', {}, 'Finished'), h('dd', {}, when(batch.finished_at)),
        Object.keys(batch.labels || {}).length ? [h('dt', {}, 'Labels'), h('dd', {}, Object.entries(batch.labels).map(([k, v]) => `${k}=${v}`).join(', '))] : null,
        h('dt', {}, 'Parameters'), h('dd', {}, h('code', {}, JSON.stringify(batch.params, (k, v) => (k === 'reference_sdf' && v ? `(${v.length} characters)` : v))))));
    const final = FINAL.has(batch.status);
    replace(actions,
      !final ? h('button', { type: 'button', class: 'danger', onclick: () => act('Cancel', `Cancel batch ${batch.name || batchId}? Unfinished jobs stop; finished results are kept.`, () => api.cancel(batchId)) }, 'Cancel batch') : null,
      ['completed_with_failures', 'failed'].includes(batch.status) ? h('button', { type: 'button', onclick: () => act('Retry', `Run the ${batch.failed} failed jobs again?`, () => api.retry(batchId)) }, 'Retry failed jobs') : null,
      final && !written() ? h('span', { class: 'help' }, 'Writing the result files…') : null,
      final && written() ? h('button', { type: 'button', class: 'danger', onclick: () => act('Delete', `Delete batch ${batch.name || batchId} with all its results? This cannot be undone.`, () => api.remove(batchId)) }, 'Delete batch') : null);
    replace(downloads,
      DOWNLOADS.filter(([name]) => batch.links[name]).map(([name, label]) => h('a', { class: 'button', href: batch.links[name], download: name }, label)),
      final ? h('a', { class: 'button', href: api.exportUrl(batchId, 'structures.zip'), download: `${batchId}-structures.zip` }, 'All structures (zip)') : h('span', { class: 'help' }, 'Result files are written when the batch finishes.'));
    replace(events, h('h3', {}, 'Milestones'), milestones(batch), h('h3', {}, 'Webhook deliveries'), webhooks(batch));
  }

  async function refresh() {
    const wasFinal = FINAL.has(batch.status);
    batch = await api.batch(batchId);
    draw();
    if (!wasFinal && FINAL.has(batch.status)) table.reload();
  }

  function poll() {
    if (FINAL.has(batch.status) && (written() || ++settleChecks > 30)) return;
    setTimeout(async () => {
      if (document.visibilityState === 'visible') await refresh().catch((error) => replace(message, problem(error)));
      poll();
    }, POLL_MS);
  }

  draw();
  replace(main,
    h('p', {}, h('a', { href: '/ui/' }, '← My batches')),
    h('h1', {}, batch.name || batchId),
    status, message,
    h('h2', {}, 'Actions'), actions,
    h('h2', {}, 'Downloads'), downloads,
    h('h2', {}, 'Results'), table.element,
    h('h2', {}, 'Events'), events);
  await table.reload();
  poll();
}
