// Heat-maps as standalone SVG: a matrix of values as coloured cells (white = low, dark blue = high) with
// row/column labels, an optional number in each cell and a colour bar. For attention weights (rows =
// queries, columns = keys; masked cells given as NaN are drawn grey) and confusion matrices.
import { blues, esc, fmt, svgHeader, textWidth } from './svg.js';

export interface HeatmapOptions {
  title?: string;
  rowLabels?: readonly string[];
  colLabels?: readonly string[];
  /** Axis titles: x under the columns, y beside the rows. */
  xLabel?: string;
  yLabel?: string;
  /** Write each value in its cell: true (3 significant digits) or a formatter. */
  annotate?: boolean | ((v: number) => string);
  /** Colour range (default: the finite min and max). */
  min?: number;
  max?: number;
  /** Cell edge in pixels (default: fits the matrix in about 480 px, between 12 and 64). */
  cell?: number;
}

export function heatmapSvg(values: readonly (readonly number[])[], o: HeatmapOptions = {}): string {
  const R = values.length;
  const C = R ? values[0].length : 0;
  if (values.some((r) => r.length !== C)) throw new RangeError(`heatmapSvg: rows have different lengths (expected ${C})`);
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of values) for (const v of r) if (Number.isFinite(v)) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
  lo = o.min ?? (Number.isFinite(lo) ? lo : 0);
  hi = o.max ?? (Number.isFinite(hi) ? hi : 1);
  const span = hi - lo || 1;
  const cell = o.cell ?? Math.max(12, Math.min(64, Math.floor(480 / Math.max(R, C, 1))));
  const rowLabels = o.rowLabels ?? [];
  const colLabels = o.colLabels ?? [];
  const rowW = Math.max(0, ...rowLabels.map((s) => textWidth(s))) + 8;
  const colH = Math.max(0, ...colLabels.map((s) => textWidth(s))) * 0.72 + 10; // labels at -45°
  const left = 12 + (o.yLabel ? 20 : 0) + rowW;
  const top = o.title ? 40 : 12;
  const barW = 70;
  const W = left + C * cell + 24 + barW;
  const H = top + R * cell + colH + (o.xLabel ? 24 : 0) + 12;
  const format = typeof o.annotate === 'function' ? o.annotate : fmt;
  const out = svgHeader(Math.max(W, textWidth(o.title ?? '', 15) + 20), H, o.title);
  for (let i = 0; i < R; i++) {
    for (let j = 0; j < C; j++) {
      const v = values[i][j];
      const t = (v - lo) / span;
      const x = left + j * cell;
      const y = top + i * cell;
      out.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${Number.isFinite(v) ? blues(t) : '#e0e0e0'}" stroke="white" stroke-width="0.5"/>`);
      if (o.annotate && Number.isFinite(v)) {
        out.push(`<text x="${x + cell / 2}" y="${y + cell / 2}" text-anchor="middle" dominant-baseline="middle" font-size="${Math.min(12, cell / 3)}" fill="${t > 0.55 ? 'white' : 'black'}">${esc(format(v))}</text>`);
      }
    }
  }
  rowLabels.forEach((s, i) => out.push(`<text x="${left - 6}" y="${top + (i + 0.5) * cell}" text-anchor="end" dominant-baseline="middle">${esc(s)}</text>`));
  colLabels.forEach((s, j) => {
    const x = left + (j + 0.5) * cell;
    const y = top + R * cell + 8;
    out.push(`<text x="${x}" y="${y}" text-anchor="end" dominant-baseline="middle" transform="rotate(-45 ${x} ${y})">${esc(s)}</text>`);
  });
  out.push(`<rect x="${left}" y="${top}" width="${C * cell}" height="${R * cell}" fill="none" stroke="#888"/>`);
  if (o.xLabel) out.push(`<text x="${left + (C * cell) / 2}" y="${H - 12}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.yLabel) {
    const cy = top + (R * cell) / 2;
    out.push(`<text x="16" y="${cy}" text-anchor="middle" transform="rotate(-90 16 ${cy})">${esc(o.yLabel)}</text>`);
  }
  // colour bar: 10 steps from lo (bottom) to hi (top)
  const bx = left + C * cell + 24;
  const bh = Math.max(60, Math.min(R * cell, 240));
  for (let s = 0; s < 10; s++) out.push(`<rect x="${bx}" y="${top + (bh * (9 - s)) / 10}" width="14" height="${bh / 10 + 0.5}" fill="${blues((s + 0.5) / 10)}"/>`);
  out.push(
    `<rect x="${bx}" y="${top}" width="14" height="${bh}" fill="none" stroke="#888"/>`,
    `<text x="${bx + 18}" y="${top + 6}">${esc(fmt(hi))}</text>`,
    `<text x="${bx + 18}" y="${top + bh}">${esc(fmt(lo))}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
