// Horizontal bar charts as standalone SVG: one row per category, one bar per series (side by side), the
// value written at the end of each bar. For time profiles (op → milliseconds, plain TS vs WebAssembly).
import { esc, fmt, svgHeader, textWidth, ticks } from './svg.js';

export interface BarSeries {
  label: string;
  values: readonly number[];
  color?: string;
}

export interface BarChartOptions {
  categories: readonly string[];
  series: readonly BarSeries[];
  title?: string;
  /** Title of the value axis, e.g. 'ms per step'. */
  xLabel?: string;
  /** Text at the end of each bar (default 3 significant digits). */
  format?: (v: number) => string;
  width?: number;
}

const PALETTE = ['#3182bd', '#e6550d', '#31a354', '#756bb1', '#636363'];

export function barChartSvg(o: BarChartOptions): string {
  const n = o.categories.length;
  for (const s of o.series) {
    if (s.values.length !== n) throw new RangeError(`barChartSvg: series '${s.label}' has ${s.values.length} values for ${n} categories`);
  }
  const format = o.format ?? fmt;
  const W = o.width ?? 800;
  const bar = 14;
  const groupH = bar * o.series.length + 8;
  const left = 16 + Math.max(0, ...o.categories.map((s) => textWidth(s)));
  const top = (o.title ? 40 : 12) + (o.series.length > 1 ? 22 : 0);
  const right = 70; // room for the value after the longest bar
  const pw = W - left - right;
  const H = top + n * groupH + 28 + (o.xLabel ? 20 : 0);
  let hi = 0;
  for (const s of o.series) for (const v of s.values) if (Number.isFinite(v)) hi = Math.max(hi, v);
  if (hi <= 0) hi = 1;
  const sx = (v: number) => (Math.max(0, v) / hi) * pw;
  const out = svgHeader(W, H, o.title);
  const axisY = top + n * groupH;
  for (const t of ticks(0, hi)) {
    const x = (left + sx(t)).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${top}" y2="${axisY}" stroke="#eee"/>`, `<text x="${x}" y="${axisY + 16}" text-anchor="middle">${t}</text>`);
  }
  o.categories.forEach((c, i) => {
    const gy = top + i * groupH + 4;
    out.push(`<text x="${left - 8}" y="${gy + (bar * o.series.length) / 2}" text-anchor="end" dominant-baseline="middle">${esc(c)}</text>`);
    o.series.forEach((s, k) => {
      const v = s.values[i];
      const y = gy + k * bar;
      const w = Number.isFinite(v) ? sx(v) : 0;
      out.push(
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${bar - 2}" fill="${s.color ?? PALETTE[k % PALETTE.length]}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + (bar - 2) / 2}" dominant-baseline="middle" font-size="11">${esc(format(v))}</text>`,
      );
    });
  });
  out.push(`<line x1="${left}" x2="${left}" y1="${top}" y2="${axisY}" stroke="#888"/>`, `<line x1="${left}" x2="${left + pw}" y1="${axisY}" y2="${axisY}" stroke="#888"/>`);
  if (o.xLabel) out.push(`<text x="${left + pw / 2}" y="${H - 8}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.series.length > 1) {
    let x = left;
    const y = top - 14;
    for (const [k, s] of o.series.entries()) {
      out.push(`<rect x="${x}" y="${y - 5}" width="10" height="10" fill="${s.color ?? PALETTE[k % PALETTE.length]}"/><text x="${x + 16}" y="${y + 4}">${esc(s.label)}</text>`);
      x += 32 + textWidth(s.label);
    }
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
