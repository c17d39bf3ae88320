// Job page: the complex in 3D (3Dmol.js, vendored: protein cartoon, ligand sticks, pocket
// residues within 5 Å, a pose selector when poses.sdf has several, pLDDT/B-factor colouring for
// co-folding models), metrics with units, PoseBusters verdicts when present, logs, and every file.
import { api } from './api.js';
import { badge, decimalsOf, fmt, h, problem, replace, title, when } from './dom.js';

const POCKET_A = 5;
// AlphaFold's pLDDT bands (very high, confident, low, very low)
const PLDDT = [[90, '#0053D6'], [70, '#65CBF3'], [50, '#FFDB13'], [-Infinity, '#FF7D45']];

function load3Dmol() {
  if (window.$3Dmol) return Promise.resolve(window.$3Dmol);
  return new Promise((resolve, reject) => {
    const script = h('script', { src: '/ui/vendor/3Dmol-min.js' });
    script.addEventListener('load', () => resolve(window.$3Dmol));
    script.addEventListener('error', () => reject(new Error('3Dmol.js did not load')));
    document.head.append(script);
  });
}

export function sdfBlocks(text) {
  return text.split(/^\$\$\$\$\s*$/m).map((b) => b.replace(/^\s*\n/, '')).filter((b) => b.trim()).map((b) => b + '$$$$\n');
}

function poseLabel(block, i) {
  const score = block.match(/>\s*<(?:vina_score_kcal_mol|minimizedAffinity|score)>\s*\n\s*([-0-9.eE]+)/);
  return `pose ${i + 1}${score ? ` (${score[1]} kcal/mol)` : ''}`;
}

function pocketResidues(receptorAtoms, ligandAtoms) {
  const near = new Map();
  const cut = POCKET_A * POCKET_A;
  for (const a of receptorAtoms) {
    if (a.hetflag) continue;
    const key = `${a.chain}:${a.resi}`;
    if (near.has(key)) continue;
    for (const l of ligandAtoms) {
      const dx = a.x - l.x; const dy = a.y - l.y; const dz = a.z - l.z;
      if (dx * dx + dy * dy + dz * dz <= cut) { near.set(key, { chain: a.chain, resi: a.resi, resn: a.resn }); break; }
    }
  }
  return [...near.values()];
}

async function viewer3d(box, job, spec, controls, caption) {
  const links = job.links;
  const names = Object.keys(links).filter((n) => n !== 'self');
  const complexName = names.find((n) => /\.(cif|mmcif|pdb)$/i.test(n));
  const posesName = names.find((n) => /^poses\.sdf$/i.test(n)) || names.find((n) => /\.sdf$/i.test(n));
  if (!complexName && !posesName) { box.hidden = true; replace(caption, 'This job has no structure file.'); return; }
  const [$3Dmol, complexText, posesText] = await Promise.all([load3Dmol(), complexName ? api.text(links[complexName]) : null, posesName ? api.text(links[posesName]) : null]);
  const viewer = $3Dmol.createViewer(box, { backgroundColor: 'white', antialias: true });
  const poses = posesText ? sdfBlocks(posesText) : [];
  const receptor = complexText ? viewer.addModel(complexText, /\.pdb$/i.test(complexName) ? 'pdb' : 'cif') : null;
  const coFolding = spec && !spec.needs_structure && receptor;
  const confidence = h('input', { type: 'checkbox', id: 'v-confidence', checked: Boolean(coFolding) });
  const pose = h('select', { id: 'v-pose' }, poses.map((b, i) => h('option', { value: i }, poseLabel(b, i))));
  let poseModel = null;

  function colourOf(atoms) {
    const top = Math.max(...atoms.map((a) => a.b || 0));
    const scale = top <= 1 ? 100 : 1;
    return (atom) => PLDDT.find(([floor]) => (atom.b || 0) * scale >= floor)[1];
  }

  function draw() {
    viewer.setStyle({}, {});
    if (poseModel) { viewer.removeModel(poseModel); poseModel = null; }
    let ligandAtoms = [];
    if (poses.length) {
      poseModel = viewer.addModel(poses[Number(pose.value) || 0], 'sdf');
      poseModel.setStyle({}, { stick: { radius: 0.2, colorscheme: 'greenCarbon' } });
      ligandAtoms = poseModel.selectedAtoms({});
    }
    if (receptor) {
      const atoms = receptor.selectedAtoms({});
      const cartoon = confidence.checked ? { colorfunc: colourOf(atoms.filter((a) => !a.hetflag)) } : { color: 'spectrum' };
      receptor.setStyle({ hetflag: false }, { cartoon });
      const het = atoms.filter((a) => a.hetflag && !['HOH', 'WAT'].includes(a.resn));
      // The complex's own ligand is shown when no pose file replaces it.
      if (!poses.length) {
        receptor.setStyle({ hetflag: true }, { stick: { radius: 0.2, colorscheme: 'greenCarbon' } });
        ligandAtoms = het;
      }
      const pocket = pocketResidues(atoms, ligandAtoms);
      for (const r of pocket) receptor.setStyle({ chain: r.chain, resi: r.resi, hetflag: false }, { cartoon: { ...cartoon, opacity: 0.6 }, stick: { radius: 0.12, colorscheme: 'grayCarbon' } });
      replace(caption, `${complexName}${posesName && poses.length ? ` + ${posesName}` : ''} · ${pocket.length} pocket residues within ${POCKET_A} Å: `,
        pocket.slice(0, 40).map((r) => `${r.resn}${r.resi}`).join(' '), pocket.length > 40 ? ' …' : '');
    } else {
      replace(caption, `${posesName}: ligand only (this model writes no complex)`);
    }
    // Centred on the ligand, with the pocket around it in view.
    if (poseModel) viewer.zoomTo({ model: poseModel });
    else if (ligandAtoms.length) viewer.zoomTo({ hetflag: true });
    else viewer.zoomTo();
    if (ligandAtoms.length && receptor) viewer.zoom(0.35);
    viewer.render();
  }

  pose.addEventListener('change', draw);
  confidence.addEventListener('change', draw);
  replace(controls,
    poses.length > 1 ? h('div', {}, h('label', { for: 'v-pose' }, 'Pose'), pose) : null,
    receptor ? h('div', {}, h('label', { for: 'v-confidence' }, confidence, ' colour by confidence (B-factor / pLDDT)')) : null);
  draw();
  box.dataset.rendered = 'true';
}

export async function render(main, batchId, jobId) {
  const [job, batch, models] = await Promise.all([api.job(batchId, jobId), api.batch(batchId), api.models()]);
  const spec = models.find((m) => m.name === batch.model);
  title(`${job.ligand_name} · ${batch.name || batchId}`);
  const units = Object.fromEntries((spec?.metrics || []).map((m) => [m.name, m]));
  const order = [...(spec?.metrics || []).map((m) => m.name), ...Object.keys(job.metrics).filter((k) => !units[k])];
  const metricRows = order.filter((k) => k in job.metrics && !k.startsWith('pb_')).map((k) => {
    const v = job.metrics[k];
    return h('tr', {}, h('th', { scope: 'row' }, k, units[k]?.unit ? h('span', { class: 'unit' }, ` (${units[k].unit})`) : null,
      units[k]?.description ? h('div', { class: 'help' }, units[k].description) : null),
    ['number', 'boolean'].includes(typeof v) ? h('td', { class: 'num' }, fmt(v, decimalsOf([v]))) : h('td', { class: 'text' }, fmt(v)));
  });
  const pb = 'pb_valid' in job.metrics
    ? h('div', { id: 'posebusters' }, h('h2', {}, 'PoseBusters'),
      h('p', { class: job.metrics.pb_valid ? 'ok' : 'error' }, job.metrics.pb_valid ? 'All checks passed' : 'Failed checks: ',
        job.metrics.pb_valid ? '' : [].concat(job.metrics.pb_failed || []).join(', ')))
    : null;
  const files = Object.entries(job.links).filter(([n]) => n !== 'self');
  const box = h('div', { class: 'viewer', id: 'viewer', role: 'img', 'aria-label': `3D structure of ${job.ligand_name}` });
  const controls = h('div', { class: 'row', id: 'viewer-controls' });
  const caption = h('p', { class: 'help', id: 'viewer-caption' });
  const log = h('pre', { class: 'log', id: 'log' }, 'loading…');
  replace(main,
    h('p', {}, h('a', { href: `/ui/batches/${batchId}` }, `← ${batch.name || batchId}`)),
    h('h1', {}, job.ligand_name, ' ', badge(job.status)),
    h('dl', { class: 'meta' },
      h('dt', {}, 'SMILES'), h('dd', {}, h('code', {}, job.smiles)),
      h('dt', {}, 'Canonical'), h('dd', {}, h('code', {}, job.canonical_smiles)),
      h('dt', {}, 'InChIKey'), h('dd', {}, job.inchikey),
      h('dt', {}, 'Job'), h('dd', {}, `${job.job_id} (row ${job.index}, ${job.attempts} attempt${job.attempts === 1 ? '' : 's'}${job.cached_from ? `, reused from ${job.cached_from}` : ''})`),
      h('dt', {}, 'Finished'), h('dd', {}, when(job.finished_at))),
    job.error ? h('p', { class: 'error', id: 'job-error' }, 'Failed: ', job.error) : null,
    h('div', { class: 'grid2' },
      h('div', {}, h('h2', {}, 'Structure'), controls, box, caption),
      h('div', {},
        job.links['ligand.svg'] ? h('img', { src: job.links['ligand.svg'], alt: `2D structure of ${job.ligand_name}`, style: 'width:100%;max-width:320px' }) : null,
        h('h2', {}, 'Metrics'), h('div', { class: 'scroll' }, h('table', { id: 'metrics' }, h('tbody', {}, metricRows))), pb,
        h('h2', {}, 'Files'), h('ul', { id: 'files' }, files.map(([n, href]) => h('li', {}, h('a', { href, download: n }, n)))))),
    h('h2', {}, 'Log'), log);
  api.text(job.links['logs.txt'] || '').then((text) => replace(log, job.links['logs.txt'] ? (text ?? 'not available') : 'This job wrote no log.'));
  try {
    await viewer3d(box, job, spec, controls, caption);
  } catch (error) {
    caption.replaceWith(problem(error));
  }
}
