// New batch: model from the registry, a parameter form generated from its JSON Schema, protein
// (sequence, and a structure uploaded through POST /v1/structures for docking models), ligands
// pasted or loaded, a dry-run estimate before submitting, and the API's per-row problems shown
// beside the rows they name.
import { api } from './api.js';
import { card, duration, fmt, h, problem, replace, title } from './dom.js';
import { paramsForm } from './form.js';
import { LigandFormatError, parseLigands } from './ligands.js';

function labelsOf(text) {
  const labels = {};
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf('=');
    if (at > 0) labels[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return labels;
}

function sequenceOf(text) {
  return text.split(/\r?\n/).filter((l) => !l.startsWith('>')).join('').replace(/\s+/g, '').toUpperCase();
}

function fieldBox(id, label, help, control) {
  return h('div', { class: 'field' }, h('label', { for: id }, label), help ? h('div', { class: 'help' }, help) : null, control);
}

export async function render(main) {
  title('New batch');
  // design models take POST /v1/designs, not a ligand batch
  const models = (await api.models()).filter((m) => !m.designs);
  const picked = new URLSearchParams(location.search).get('model');
  const model = h('select', { id: 'model', name: 'model' },
    models.map((m) => h('option', { value: m.name, selected: m.name === (picked || 'rdkit_props') }, `${m.name} — ${m.hardware}`)));
  const about = h('div', { class: 'help', id: 'model-about' });
  const name = h('input', { type: 'text', id: 'name', maxlength: 200, size: 40 });
  const labels = h('textarea', { id: 'labels', rows: 2, placeholder: 'project=cdk2' });
  const proteinId = h('input', { type: 'text', id: 'protein-id', value: 'A', maxlength: 64 });
  const sequence = h('textarea', { id: 'sequence', rows: 3, placeholder: 'MENFQKVEKIGEGTYG… (FASTA header lines are dropped)' });
  const structureStatus = h('div', { class: 'help', role: 'status', id: 'structure-status' });
  let structureUri = null;
  const structureFile = h('input', { type: 'file', id: 'structure', accept: '.pdb,.cif,.mmcif,.ent' });
  const structureBox = fieldBox('structure', 'Receptor structure (PDB or mmCIF)', 'uploaded to your folder with POST /v1/structures; the batch names its gs:// URI', h('div', {}, structureFile, structureStatus));
  const ligandText = h('textarea', { id: 'ligands', rows: 8, placeholder: 'CC(=O)Oc1ccccc1C(=O)O aspirin\n— or a CSV with a SMILES column' });
  const ligandFile = h('input', { type: 'file', id: 'ligand-file', accept: '.csv,.tsv,.txt,.smi,.sdf' });
  let ligandFileName = '';
  const onInvalid = h('select', { id: 'on-invalid' }, h('option', { value: 'reject' }, 'refuse the batch (reject)'), h('option', { value: 'skip' }, 'run the valid rows (skip)'));
  const preview = h('tbody');
  const ligandNote = h('div', { class: 'help', role: 'status', id: 'ligand-note' });
  const paramsBox = h('div');
  const problems = h('div', { id: 'problems', 'aria-live': 'polite' });
  const estimateBox = h('div', { id: 'estimate', 'aria-live': 'polite' });
  const submit = h('button', { class: 'primary', type: 'submit', id: 'submit' }, 'Submit batch');
  const check = h('button', { type: 'button', id: 'check' }, 'Check and estimate');
  let form = null;
  let rows = [];
  let rowProblems = new Map();

  function spec() { return models.find((m) => m.name === model.value); }

  function showModel() {
    const m = spec();
    replace(about, m.description, ` · primary metric ${m.primary_metric} (${m.higher_is_better ? 'higher' : 'lower'} is better) · protein ${m.limits.protein_min_length}–${m.limits.protein_max_length} residues`,
      m.limits.max_heavy_atoms ? ` · ≤ ${m.limits.max_heavy_atoms} heavy atoms per ligand` : '');
    form = paramsForm(m.params_schema);
    replace(paramsBox, form.element);
    structureBox.hidden = !m.needs_structure;
  }

  function readLigands() {
    try {
      rows = parseLigands(ligandText.value, ligandFileName);
      replace(ligandNote, `${rows.length} ligand${rows.length === 1 ? '' : 's'}`);
    } catch (error) {
      rows = [];
      replace(ligandNote, h('span', { class: 'error' }, error instanceof LigandFormatError ? error.message : String(error)));
    }
    drawPreview();
  }

  function drawPreview() {
    replace(preview, rows.slice(0, 500).map((r, i) => {
      const why = rowProblems.get(i);
      return h('tr', { 'data-row': i, class: why ? 'invalid' : null },
        h('td', { class: 'num' }, i), h('td', { class: 'num' }, r.line), h('td', {}, r.name || ''), h('td', { class: 'smiles' }, r.smiles),
        h('td', { class: 'reason' }, why ? why.join('; ') : ''));
    }), rows.length > 500 ? h('tr', {}, h('td', { colspan: 5, class: 'muted' }, `… ${rows.length - 500} more rows`)) : null);
  }

  function body() {
    const protein = { id: proteinId.value.trim() || 'A', sequence: sequenceOf(sequence.value) };
    if (spec().needs_structure && structureUri) protein.structure = structureUri;
    const out = { model: model.value, params: form.read(), protein, on_invalid: onInvalid.value,
      ligands: rows.map((r) => (r.name ? { name: r.name, smiles: r.smiles } : { smiles: r.smiles })), labels: labelsOf(labels.value) };
    if (name.value.trim()) out.name = name.value.trim();
    return out;
  }

  // Row problems go beside their rows, parameter problems beside their fields, the rest on top.
  function showProblems(details, heading) {
    rowProblems = new Map();
    const rest = [];
    for (const d of form.show(details)) {
      if (d.loc?.[0] === 'ligands' && Number.isInteger(d.loc[1])) {
        rowProblems.set(d.loc[1], [...(rowProblems.get(d.loc[1]) || []), d.msg]);
      } else rest.push(d);
    }
    drawPreview();
    const rowNote = rowProblems.size ? h('p', { class: 'error' }, `${rowProblems.size} ligand row${rowProblems.size === 1 ? '' : 's'} with problems: see the ligand table`) : null;
    replace(problems, heading ? h('p', { class: 'error', role: 'alert' }, heading) : null, rowNote,
      rest.length ? h('ul', { class: 'error' }, rest.map((d) => h('li', {}, h('code', {}, (d.loc || []).join('.')), ': ', d.msg))) : null);
    if (rowProblems.size) preview.querySelector('tr.invalid')?.scrollIntoView({ block: 'nearest' });
  }

  function showEstimate(answer) {
    const e = answer.estimate;
    replace(estimateBox, h('h2', {}, 'Estimate (dry run)'),
      h('div', { class: 'row' }, card('jobs', fmt(e.jobs)), card('rows refused', fmt(answer.rejected)), card('compute', duration(e.compute_seconds)),
        card('GPU-seconds charged', fmt(e.gpu_seconds, 1)), card('cost', `$${fmt(e.cost_usd, 4)}`), card('ETA', duration(e.eta_s)), card('hardware', e.hardware)),
      h('p', { class: 'help' }, 'basis: ', e.basis),
      answer.warnings.length ? h('ul', {}, answer.warnings.map((w) => h('li', {}, h('code', {}, (w.loc || []).join('.')), ': ', w.msg))) : null);
  }

  async function send(dryRun) {
    if (!rows.length) { showProblems([], 'Add at least one ligand'); return; }
    try {
      const answer = await api.submit(body(), dryRun);
      showProblems(answer.rejected_rows || [], answer.rejected ? `${answer.rejected} row(s) will be skipped` : null);
      if (dryRun) showEstimate(answer);
      else location.assign(`/ui/batches/${answer.batch_id}`);
    } catch (error) {
      replace(estimateBox);
      if (error.detail?.length) showProblems(error.detail, error.message);
      else replace(problems, problem(error));
    }
  }

  let debounce;
  function changed() { clearTimeout(debounce); debounce = setTimeout(() => send(true), 800); }
  model.addEventListener('change', () => { showModel(); changed(); });
  ligandText.addEventListener('input', () => { ligandFileName = ''; rowProblems = new Map(); readLigands(); changed(); });
  ligandFile.addEventListener('change', async () => {
    const file = ligandFile.files[0];
    if (!file) return;
    ligandFileName = file.name;
    ligandText.value = await file.text();
    rowProblems = new Map();
    readLigands();
    changed();
  });
  structureFile.addEventListener('change', async () => {
    const file = structureFile.files[0];
    if (!file) return;
    replace(structureStatus, 'uploading…');
    try {
      const stored = await api.uploadStructure(await file.text());
      structureUri = stored.uri;
      replace(structureStatus, `stored: ${stored.uri} (${stored.format}, ${fmt(stored.bytes)} bytes)`);
    } catch (error) {
      structureUri = null;
      replace(structureStatus, problem(error));
    }
  });
  check.addEventListener('click', () => send(true));

  showModel();
  replace(main,
    h('h1', {}, 'New batch'),
    h('form', { id: 'new-batch', onsubmit: (event) => { event.preventDefault(); send(false); }, oninput: (event) => { if (event.target !== ligandText) changed(); } },
      h('div', { class: 'grid2' },
        h('div', {},
          h('h2', {}, 'Model'), fieldBox('model', 'Model', null, model), about,
          h('h2', {}, 'Protein'), fieldBox('protein-id', 'Protein id', null, proteinId),
          fieldBox('sequence', 'Sequence', 'one-letter amino acids; FASTA accepted', sequence), structureBox,
          h('h2', {}, 'Ligands'),
          fieldBox('ligands', 'Ligands', 'paste SMILES (one per line, optionally followed by a name) or a CSV with a header; or load a .smi/.csv file', ligandText),
          h('div', { class: 'row' }, h('div', {}, h('label', { for: 'ligand-file' }, 'Load a file'), ligandFile), h('div', {}, h('label', { for: 'on-invalid' }, 'Invalid rows'), onInvalid)),
          ligandNote,
          h('div', { class: 'scroll' }, h('table', { id: 'ligand-rows' }, h('thead', {}, h('tr', {}, h('th', { class: 'num' }, 'Row'), h('th', { class: 'num' }, 'Line'), h('th', {}, 'Name'), h('th', {}, 'SMILES'), h('th', {}, 'Problem'))), preview)),
          h('h2', {}, 'Parameters'), paramsBox,
          h('h2', {}, 'Batch'), fieldBox('name', 'Name', 'optional', name), fieldBox('labels', 'Labels', 'key=value, one per line', labels)),
        h('div', { class: 'sticky' }, h('div', { class: 'row' }, check, submit), problems, estimateBox))));
}
