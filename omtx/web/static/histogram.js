// A histogram of one metric as SVG; dragging across it (or ←/→ with Shift on the focused chart)
// picks a range that filters the table. Bins come from the facets endpoint, or are counted here
// from the values of one results page (then the note says how many jobs it covers).
import { fmt, h, replace } from './dom.js';

const BINS = 24;
const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 100;

function s(tag, attrs) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

export function binsOf(values, count = BINS) {
  if (!values.length) return null;
  let low = Math.min(...values);
  let high = Math.max(...values);
  if (low === high) { low -= 0.5; high += 0.5; }
  const width = (high - low) / count;
  const counts = new Array(count).fill(0);
  for (const v of values) counts[Math.min(count - 1, Math.floor((v - low) / width))]++;
  return { edges: Array.from({ length: count + 1 }, (_, i) => low + i * width), counts };
}

export function histogram(metric, unit, onBrush) {
  const svg = s('svg', { viewBox: `0 0 ${W} ${H + 16}`, role: 'img', tabindex: 0, id: 'histogram', 'aria-label': `Histogram of ${metric}; drag to filter` });
  const caption = h('div', { class: 'help', id: 'histogram-note' });
  const element = h('div', { class: 'histogram' }, h('h3', {}, `Distribution of ${metric}${unit ? ` (${unit})` : ''}`), svg, caption);
  let bins = null;
  let dragFrom = null;
  let brush = null;
  let ticket = 0; // only the latest request draws

  const valueAt = (x) => bins.edges[0] + (x / W) * (bins.edges[bins.edges.length - 1] - bins.edges[0]);
  const xOf = (v) => ((v - bins.edges[0]) / (bins.edges[bins.edges.length - 1] - bins.edges[0])) * W;
  function svgX(event) {
    const box = svg.getBoundingClientRect();
    return Math.max(0, Math.min(W, ((event.clientX - box.left) / box.width) * W));
  }

  function draw(selected) {
    svg.replaceChildren();
    if (!bins) return;
    const top = Math.max(...bins.counts, 1);
    const step = W / bins.counts.length;
    const lo = selected?.min !== undefined && selected.min !== '' ? Number(selected.min) : -Infinity;
    const hi = selected?.max !== undefined && selected.max !== '' ? Number(selected.max) : Infinity;
    bins.counts.forEach((c, i) => {
      const inside = bins.edges[i + 1] >= lo && bins.edges[i] <= hi;
      const rect = s('rect', { class: `bin${inside ? ' in' : ''}`, x: i * step + 1, width: step - 2, y: H - (H * c) / top, height: (H * c) / top });
      rect.append(s('title', {}));
      rect.firstChild.textContent = `${fmt(bins.edges[i], 3)} – ${fmt(bins.edges[i + 1], 3)}: ${c}`;
      svg.append(rect);
    });
    const label = (x, text, anchor) => { const t = s('text', { x, y: H + 13, 'font-size': 11, 'text-anchor': anchor, fill: '#1b1f24' }); t.textContent = text; svg.append(t); };
    label(0, fmt(bins.edges[0], 3), 'start');
    label(W, fmt(bins.edges[bins.edges.length - 1], 3), 'end');
    if (brush) svg.append(s('rect', { class: 'brush', x: Math.min(...brush), width: Math.abs(brush[1] - brush[0]), y: 0, height: H }));
  }

  svg.addEventListener('pointerdown', (event) => { if (!bins) return; dragFrom = svgX(event); brush = [dragFrom, dragFrom]; svg.setPointerCapture(event.pointerId); });
  svg.addEventListener('pointermove', (event) => { if (dragFrom === null) return; brush = [dragFrom, svgX(event)]; draw(); });
  svg.addEventListener('pointerup', (event) => {
    if (dragFrom === null) return;
    const to = svgX(event);
    const [a, b] = [Math.min(dragFrom, to), Math.max(dragFrom, to)];
    dragFrom = null;
    brush = null;
    if (b - a < 3) onBrush(undefined, undefined); // a click clears the range
    else onBrush(Number(valueAt(a).toPrecision(6)), Number(valueAt(b).toPrecision(6)));
  });

  return {
    element,
    xOf: (v) => (bins ? xOf(v) : null),
    async load(values) {
      const mine = ++ticket;
      try {
        const answer = await values();
        if (mine !== ticket) return;
        if (!answer) { element.hidden = true; return; }
        bins = answer.bins || binsOf(answer.values);
        draw(answer.selected);
        replace(caption, !bins ? 'No values yet.' : answer.complete ? 'All jobs under the other filters. Drag across the chart to filter; click to clear.'
          : `From the first ${fmt(answer.values.length)} jobs in ${metric} order (the facets API gives all of them). Drag to filter; click to clear.`);
      } catch (error) {
        replace(caption, `histogram unavailable: ${error.message}`);
      }
    },
  };
}
