// A parameter form generated from a model's JSON Schema (GET /v1/models → params_schema):
// defaults, ranges, descriptions and enums come from the schema, nothing is written per model.
// Handles what pydantic emits: numbers/integers with bounds, booleans, strings (long ones get a
// text area and a file picker), enums (also via $ref), fixed-length number tuples (prefixItems),
// optional fields (anyOf with null: left empty, they are not sent), and JSON for anything else.
import { h } from './dom.js';

const LONG_TEXT = 1000;

function resolve(schema, root) {
  if (schema && schema.$ref) return resolve(root.$defs?.[schema.$ref.split('/').pop()] || {}, root);
  if (schema && schema.allOf && schema.allOf.length === 1) return { ...resolve(schema.allOf[0], root), ...schema, allOf: undefined };
  return schema || {};
}

// An optional field is `anyOf: [X, {type: null}]`: the X it takes, and that it may be left out.
function unwrap(schema, root) {
  const s = resolve(schema, root);
  if (Array.isArray(s.anyOf)) {
    const options = s.anyOf.map((o) => resolve(o, root));
    const real = options.filter((o) => o.type !== 'null');
    if (real.length === 1) return { schema: { ...real[0], default: s.default, description: s.description, title: s.title }, nullable: real.length < options.length };
  }
  return { schema: s, nullable: false };
}

function range(s) {
  const low = s.minimum ?? s.exclusiveMinimum;
  const high = s.maximum ?? s.exclusiveMaximum;
  if (low === undefined && high === undefined) return '';
  if (high === undefined) return `≥ ${low}`;
  if (low === undefined) return `≤ ${high}`;
  return `${low}–${high}`;
}

function numberInput(id, s, value) {
  return h('input', { type: 'number', id, name: id, value: value ?? '', min: s.minimum, max: s.maximum, step: s.type === 'integer' ? 1 : 'any' });
}

function readNumber(input, s) {
  if (input.value.trim() === '') return undefined;
  const n = Number(input.value);
  return s.type === 'integer' && Number.isInteger(n) ? n : (Number.isFinite(n) ? n : input.value);
}

// One field: its element and a reader that gives its value (undefined: leave it out).
function field(name, raw, root, prefix) {
  const { schema: s, nullable } = unwrap(raw, root);
  const id = `${prefix}${name}`;
  const value = s.default;
  if (Array.isArray(s.enum)) {
    const select = h('select', { id, name: id },
      nullable ? h('option', { value: '' }, '—') : null,
      s.enum.map((v) => h('option', { value: JSON.stringify(v), selected: JSON.stringify(v) === JSON.stringify(value) }, String(v))));
    return [select, () => (select.value === '' ? undefined : JSON.parse(select.value))];
  }
  if (s.type === 'boolean') {
    const box = h('input', { type: 'checkbox', id, name: id, checked: Boolean(value) });
    return [box, () => box.checked];
  }
  if (s.type === 'integer' || s.type === 'number') {
    const input = numberInput(id, s, value);
    return [input, () => readNumber(input, s)];
  }
  if (s.type === 'array' && Array.isArray(s.prefixItems) && s.prefixItems.every((p) => ['number', 'integer'].includes(resolve(p, root).type))) {
    const inputs = s.prefixItems.map((p, i) => numberInput(`${id}-${i}`, resolve(p, root), value ? value[i] : ''));
    inputs.forEach((input, i) => input.setAttribute('aria-label', `${s.title || name} ${['x', 'y', 'z'][i] || i + 1}`));
    const read = () => {
      const values = inputs.map((input, i) => readNumber(input, resolve(s.prefixItems[i], root)));
      return values.every((v) => v === undefined) ? undefined : values;
    };
    return [h('div', { class: 'tuple', id, role: 'group' }, inputs), read];
  }
  if (s.type === 'string') {
    const long = (s.maxLength || 0) >= LONG_TEXT;
    const input = long
      ? h('textarea', { id, name: id, rows: 4, maxlength: s.maxLength }, value ?? '')
      : h('input', { type: 'text', id, name: id, value: value ?? '', maxlength: s.maxLength });
    const read = () => (input.value === '' && (nullable || value === undefined || value === null) ? undefined : input.value);
    if (!long) return [input, read];
    const file = h('input', { type: 'file', 'aria-label': `Load ${s.title || name} from a file`,
      async onchange() { if (file.files[0]) input.value = await file.files[0].text(); } });
    return [h('div', {}, input, file), read];
  }
  // Objects, free arrays and anything else: JSON text, parsed when the form is read.
  const area = h('textarea', { id, name: id, rows: 2 }, value === undefined || value === null ? '' : JSON.stringify(value));
  return [area, () => {
    if (area.value.trim() === '') return undefined;
    try { return JSON.parse(area.value); } catch { return area.value; }
  }];
}

export function paramsForm(schema, prefix = 'p-') {
  const fields = {};
  const root = schema;
  const element = h('div', { class: 'params' });
  for (const [name, raw] of Object.entries(schema.properties || {})) {
    const { schema: s, nullable } = unwrap(raw, root);
    const [control, read] = field(name, raw, root, prefix);
    const problem = h('div', { class: 'problem', id: `${prefix}${name}-problem`, 'aria-live': 'polite' });
    const help = [s.description, range(s) && `range ${range(s)}`, s.default !== undefined && s.default !== null && `default ${JSON.stringify(s.default)}`, nullable && 'optional']
      .filter(Boolean).join(' · ');
    const wrapper = h('div', { class: 'field', 'data-param': name },
      h('label', { for: `${prefix}${name}` }, s.title || name, ' ', h('code', { class: 'help' }, name)),
      h('div', { class: 'help' }, help), control, problem);
    fields[name] = { read, wrapper, problem };
    element.append(wrapper);
  }
  return {
    element,
    read() {
      const out = {};
      for (const [name, { read }] of Object.entries(fields)) {
        const value = read();
        if (value !== undefined) out[name] = value;
      }
      return out;
    },
    // Problems the API named under ["params", field, ...]; the rest are returned for the page.
    show(details) {
      for (const f of Object.values(fields)) { f.problem.textContent = ''; f.wrapper.classList.remove('invalid'); }
      const rest = [];
      for (const d of details) {
        const f = d.loc?.[0] === 'params' ? fields[d.loc[1]] : undefined;
        if (f) { f.problem.textContent = d.msg; f.wrapper.classList.add('invalid'); } else rest.push(d);
      }
      return rest;
    },
  };
}
