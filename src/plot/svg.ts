// Shared pieces of our SVG pictures (line plots, heat-maps, bar charts): round axis ticks, text escaping,
// the document frame and a sequential colour scale. Plain strings, no dependency; every picture is one
// standalone <svg> that opens in a browser, renders on a code host and embeds in a notebook.

/** About `n` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k). */
export function ticks(lo: number, hi: number, n = 5): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const first = Math.ceil(lo / step) * step;
  const out: number[] = [];
  // counted, not `v += step`: past |lo| ≈ 2^53 · step an added step is lost to rounding, and that loop never ended
  // (it filled the heap drawing the loss curve of a run whose loss was one huge value)
  for (let i = 0, v = first; i <= 2 * n + 1 && v <= hi + 1e-9 * span; v = first + ++i * step) {
    const t = Number(v.toPrecision(12));
    if (t !== out[out.length - 1]) out.push(t);
  }
  return out;
}

/** Escapes text for SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Opening tag, white background and centred title of a W×H picture. Close it with '</svg>'. */
export function svgHeader(W: number, H: number, title: string | undefined): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    ...(title ? [`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(title)}</text>`] : []),
  ];
}

/** White (t = 0) to dark blue (t = 1), clamped; a sequential scale that prints well in grey too. */
export function blues(t: number): string {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const c = (a: number, b: number) => Math.round(a + (b - a) * u);
  return `rgb(${c(247, 8)},${c(251, 48)},${c(255, 107)})`;
}

/** A compact label for a number: 3 significant digits, no trailing zeros, exponent only when needed. */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/** Rough rendered width of a label at font size 12 (for margins; SVG has no text metrics without a browser). */
export function textWidth(s: string, fontSize = 12): number {
  return s.length * fontSize * 0.6;
}
