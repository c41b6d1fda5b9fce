// Line plots as standalone SVG: any number of series (solid, dashed, with or without points), optional
// horizontal reference lines, round ticks, axis labels and a legend. The loss curve (train/losscurve.ts)
// is one of these; notebooks use it for any y-against-x picture.
import { esc, svgHeader, ticks } from './svg.js';

export interface LineSeries {
  label: string;
  points: readonly { x: number; y: number }[];
  color: string;
  /** Stroke width (default 1.5); 0 draws no line (points only). */
  width?: number;
  /** SVG stroke-dasharray, e.g. '4 3'. */
  dash?: string;
  /** Draw a dot at every point; the legend then shows a dot. */
  dots?: boolean;
  /** Leave out of the legend. */
  hideInLegend?: boolean;
}

export interface LineChartOptions {
  series: readonly LineSeries[];
  title?: string;
  xLabel?: string;
  yLabel?: string;
  /** Horizontal reference lines, labelled with their value. */
  hlines?: readonly { y: number; label: string; color?: string }[];
  /** Fix the left end of the x axis (default: the smallest x). */
  xMin?: number;
  width?: number;
  height?: number;
}

const M = { left: 64, right: 24, top: 40, bottom: 48 };

export function lineChartSvg(o: LineChartOptions): string {
  const W = o.width ?? 800;
  const H = o.height ?? 480;
  const hl = (o.hlines ?? []).filter((h) => Number.isFinite(h.y));
  // loops, not Math.min(...spread): a long run has more points than a call may take arguments
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const s of o.series) {
    for (const p of s.points) {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) continue;
      x0 = Math.min(x0, p.x);
      x1 = Math.max(x1, p.x);
      y0 = Math.min(y0, p.y);
      y1 = Math.max(y1, p.y);
    }
  }
  for (const h of hl) [y0, y1] = [Math.min(y0, h.y), Math.max(y1, h.y)];
  if (o.xMin !== undefined) x0 = o.xMin;
  if (!Number.isFinite(x0)) x0 = 0;
  // widen an empty range relative to its size too: beyond 2^53, ±1 is lost to rounding
  if (!Number.isFinite(x1) || x1 <= x0) x1 = x0 + Math.max(1, Math.abs(x0) * 1e-3);
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 - y0 < 1e-6) {
    const w = Math.max(0.5, Math.abs(y0) * 1e-3);
    [y0, y1] = [y0 - w, y1 + w];
  }
  const pad = (y1 - y0) * 0.05;
  y0 = y0 >= 0 ? Math.max(0, y0 - pad) : y0 - pad;
  y1 += pad;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (x: number) => M.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number) => M.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const out = svgHeader(W, H, o.title);
  for (const t of ticks(y0, y1)) {
    const y = sy(t).toFixed(1);
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#eee"/>`);
    out.push(`<text x="${M.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${t}</text>`);
  }
  for (const t of ticks(x0, x1)) {
    const x = sx(t).toFixed(1);
    out.push(`<line x1="${x}" x2="${x}" y1="${M.top}" y2="${H - M.bottom}" stroke="#f4f4f4"/>`);
    out.push(`<text x="${x}" y="${H - M.bottom + 16}" text-anchor="middle">${t}</text>`);
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`);
  if (o.xLabel) out.push(`<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">${esc(o.xLabel)}</text>`);
  if (o.yLabel) out.push(`<text x="16" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + ph / 2})">${esc(o.yLabel)}</text>`);
  for (const s of o.series) {
    const ok = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const width = s.width ?? 1.5;
    if (width > 0 && ok.length) {
      const d = ok.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${width}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
    }
    if (s.dots) for (const p of ok) out.push(`<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="3" fill="${s.color}"/>`);
  }
  for (const h of hl) {
    const y = sy(h.y).toFixed(1);
    const color = h.color ?? '#31a354';
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="${color}" stroke-dasharray="6 4"/>`,
      // a white halo keeps the label readable where a curve crosses it
      `<text x="${M.left + 6}" y="${(Number(y) - 5).toFixed(1)}" fill="${color}" stroke="white" stroke-width="3" paint-order="stroke">${esc(h.label)} ${h.y.toFixed(3)}</text>`,
    );
  }
  const legend = o.series.filter((s) => !s.hideInLegend);
  if (legend.length) {
    const lw = 24 + Math.max(...legend.map((s) => s.label.length)) * 7.2 + 20;
    const lx = W - M.right - lw - 10;
    out.push(`<rect x="${lx}" y="${M.top + 8}" width="${lw}" height="${10 + 16 * legend.length}" fill="white" stroke="#ccc"/>`);
    legend.forEach((s, i) => {
      const y = M.top + 22 + 16 * i;
      const mark = s.dots
        ? `<circle cx="${lx + 19}" cy="${y}" r="3" fill="${s.color}"/>`
        : `<line x1="${lx + 8}" x2="${lx + 30}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="${Math.max(1, s.width ?? 1.5)}"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`;
      out.push(`${mark}<text x="${lx + 36}" y="${y + 4}">${esc(s.label)}</text>`);
    });
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
