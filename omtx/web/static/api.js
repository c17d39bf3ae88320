// Every call the console makes goes through this module: the console is a client of the public
// API, and the features that arrive with later API work (facets, exports of a filtered view, text
// search) are switched on here, from what the OpenAPI document declares, not by page code.

// Sent on every call: with a session cookie, a state-changing request must carry it (CSRF guard).
const CONSOLE_HEADER = { 'X-OMTX-Console': '1' };

export class ApiError extends Error {
  constructor(status, body) {
    super(body.message || `HTTP ${status}`);
    this.status = status;
    this.error = body.error || 'error';
    this.detail = Array.isArray(body.detail) ? body.detail : [];
  }
}

export function query(params) {
  const pairs = Object.entries(params || {}).filter(([, v]) => v !== undefined && v !== null && v !== '' && v !== false);
  return pairs.length ? '?' + new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString() : '';
}

async function call(method, path, { params, body } = {}) {
  const headers = { ...CONSOLE_HEADER };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path + query(params), {
    method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  const data = await response.json().catch(() => ({ message: `HTTP ${response.status}` }));
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

const id = encodeURIComponent;
const once = {};
function cached(key, load) { return (once[key] ||= load().catch((e) => { delete once[key]; throw e; })); }

export const api = {
  session: () => call('GET', '/ui/session'),
  signIn: (key) => call('POST', '/ui/session', { body: { api_key: key } }),
  signOut: () => call('DELETE', '/ui/session'),
  models: () => cached('models', () => call('GET', '/v1/models').then((r) => r.models)),
  batches: (params) => call('GET', '/v1/batches', { params }),
  batch: (b) => call('GET', `/v1/batches/${id(b)}`),
  submit: (body, dryRun) => call('POST', '/v1/batches', { params: { dry_run: dryRun ? 'true' : undefined }, body }),
  uploadStructure: (text) => call('POST', '/v1/structures', { body: { structure: text } }),
  cancel: (b) => call('POST', `/v1/batches/${id(b)}/cancel`),
  retry: (b) => call('POST', `/v1/batches/${id(b)}/retry`),
  remove: (b) => call('DELETE', `/v1/batches/${id(b)}`),
  results: (b, params) => call('GET', `/v1/batches/${id(b)}/results`, { params }),
  facets: (b, params) => call('GET', `/v1/batches/${id(b)}/facets`, { params }),
  job: (b, j) => call('GET', `/v1/batches/${id(b)}/jobs/${id(j)}`),
  usage: (days) => call('GET', '/v1/usage', { params: { days } }),
  async text(path) {
    const response = await fetch(path, { credentials: 'same-origin', headers: CONSOLE_HEADER });
    return response.ok ? response.text() : null;
  },
  exportUrl: (b, name) => `/v1/batches/${id(b)}/exports/${id(name)}`,
  viewExportUrl: (b, format, params) => `/v1/batches/${id(b)}/results.${format}` + query(params),
  // What this API offers beyond the first console release, read from its OpenAPI document.
  capabilities: () => cached('capabilities', async () => {
    const doc = await call('GET', '/v1/openapi.json');
    const paths = doc.paths || {};
    const results = paths['/v1/batches/{batch_id}/results']?.get?.parameters || [];
    return {
      facets: '/v1/batches/{batch_id}/facets' in paths,
      viewExport: '/v1/batches/{batch_id}/results.csv' in paths,
      search: results.some((p) => p.name === 'q'),
    };
  }),
};
