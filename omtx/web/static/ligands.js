// Ligands pasted or loaded from a file, read into the rows the API takes ({name, smiles}).
// This is the one seam for file formats: CSV/TSV with a header and SMILES-per-line (.smi) are
// read here with the API's column spellings; SDF needs RDKit, which the browser does not have,
// so it waits for the server-side ligand parser (one function to switch, `parseLigands`).

const SMILES_COLUMNS = ['smiles', 'smi', 'canonical_smiles', 'isomeric_smiles'];
const NAME_COLUMNS = ['name', 'id', 'compound_id', 'title', 'ligand', 'ligand_name', 'molecule'];

function splitRow(line, sep) {
  if (sep !== ',') return line.split(sep);
  const cells = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted && c === '"' && line[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) { cells.push(cell); cell = ''; } else cell += c;
  }
  cells.push(cell);
  return cells;
}

export class LigandFormatError extends Error {}

// rows: [{name, smiles, line}] where line is the 1-based line of the text it came from.
export function parseLigands(text, filename = '') {
  if (/\.(sdf|mol|sd)$/i.test(filename) || /^\$\$\$\$\s*$/m.test(text)) {
    throw new LigandFormatError('SDF is read by the server-side ligand parser, which this API does not offer yet: paste SMILES or a CSV');
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const first = lines.findIndex((l) => l.trim() && !l.startsWith('#'));
  if (first < 0) return [];
  // A lone column named like SMILES is a one-column table, not a molecule called "smiles"
  const sep = [',', '\t', ';'].find((s) => lines[first].includes(s)) || (SMILES_COLUMNS.includes(lines[first].trim().toLowerCase()) ? ',' : undefined);
  const header = sep ? splitRow(lines[first], sep).map((c) => c.trim().toLowerCase()) : [];
  const smilesAt = header.findIndex((c) => SMILES_COLUMNS.includes(c));
  if (sep && smilesAt < 0 && header.length > 1) {
    throw new LigandFormatError(`no SMILES column in the header (${header.join(', ')}); name one ${SMILES_COLUMNS.join(' or ')}`);
  }
  const rows = [];
  if (sep && smilesAt >= 0) {
    const nameAt = header.findIndex((c) => NAME_COLUMNS.includes(c));
    lines.forEach((line, i) => {
      if (i <= first || !line.trim() || line.startsWith('#')) return;
      const cells = splitRow(line, sep);
      const row = { smiles: (cells[smilesAt] || '').trim(), line: i + 1 };
      if (nameAt >= 0 && cells[nameAt]?.trim()) row.name = cells[nameAt].trim();
      rows.push(row);
    });
    return rows;
  }
  // SMILES per line, optionally followed by whitespace and a name (the .smi convention)
  lines.forEach((line, i) => {
    if (!line.trim() || line.startsWith('#')) return;
    const [smiles, ...name] = line.trim().split(/\s+/);
    const row = { smiles, line: i + 1 };
    if (name.length) row.name = name.join(' ');
    rows.push(row);
  });
  return rows;
}
