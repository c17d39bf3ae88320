// Usage: the tenant's jobs, compute seconds and estimated cost per day and per model, and the
// GPU budget left, all from GET /v1/usage.
import { api } from './api.js';
import { card, duration, fmt, h, problem, replace, title } from './dom.js';

function table(id, rows, first, key) {
  return h('div', { class: 'scroll' }, h('table', { id },
    h('thead', {}, h('tr', {}, first.map((f) => h('th', {}, f)), ['Batches', 'Jobs', 'Succeeded', 'Failed', 'Compute (s)', 'GPU (s)', 'Cost (USD)'].map((t) => h('th', { class: 'num' }, t)))),
    h('tbody', {}, rows.length ? rows.map((r) => h('tr', {}, key(r).map((k) => h('td', {}, k)),
      [fmt(r.batches), fmt(r.jobs), fmt(r.succeeded), fmt(r.failed), fmt(r.compute_seconds, 1), fmt(r.gpu_seconds, 1), fmt(r.cost_usd, 4)].map((v) => h('td', { class: 'num' }, v))))
      : h('tr', {}, h('td', { colspan: first.length + 7, class: 'muted' }, 'No batches in this period.')))));
}

export async function render(main) {
  title('Usage');
  const days = h('select', { id: 'days' }, [7, 30, 90, 365].map((d) => h('option', { value: d, selected: d === 30 }, `last ${d} days`)));
  const out = h('div');
  async function load() {
    try {
      const u = await api.usage(days.value);
      const b = u.budget;
      replace(out,
        h('div', { class: 'row' }, card('batches', fmt(u.totals.batches)), card('jobs', fmt(u.totals.jobs)), card('compute', duration(u.totals.compute_seconds)),
          card('GPU-seconds', fmt(u.totals.gpu_seconds, 1)), card('estimated cost', `$${fmt(u.totals.cost_usd, 4)}`),
          b ? card('GPU budget left', `${fmt(b.left_gpu_s, 0)} of ${fmt(b.budget_gpu_s, 0)} s`) : card('GPU budget', 'none set')),
        h('p', { class: 'help' }, `Tenant ${u.tenant} · ${u.basis}`),
        h('h2', {}, 'Per model'), table('usage-models', u.by_model, ['Model'], (r) => [r.model]),
        h('h2', {}, 'Per day'), table('usage-days', u.by_day, ['Day'], (r) => [r.day]),
        h('h2', {}, 'Per day and model'), table('usage-day-model', u.by_day_and_model, ['Day', 'Model'], (r) => [r.day, r.model]));
    } catch (error) { replace(out, problem(error)); }
  }
  days.addEventListener('change', load);
  replace(main, h('h1', {}, 'Usage'), h('div', { class: 'field' }, h('label', { for: 'days' }, 'Period'), days), out);
  await load();
}
