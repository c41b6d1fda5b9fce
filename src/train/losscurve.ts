// The loss curve of a run as a standalone SVG picture (open it in any browser): training loss per step
// (faint) with an exponential moving average (bold), validation loss as points, labelled axes and a legend.

export interface LossCurveData {
  train: { step: number; loss: number }[];
  val: { step: number; loss: number }[];
  title?: string;
  /** A reference level drawn as a horizontal line, e.g. the unigram baseline. */
  baseline?: { loss: number; label: string };
}

const W = 800;
const H = 480;
const M = { left: 64, right: 24, top: 40, bottom: 48 };

/** About five round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || 1;
  const raw = span / 5;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9 * span; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function lossCurveSvg(d: LossCurveData): string {
  const ref = d.baseline && Number.isFinite(d.baseline.loss) ? d.baseline : undefined;
  const pts = [...d.train, ...d.val, ...(ref ? [{ step: 0, loss: ref.loss }] : [])].filter((p) => Number.isFinite(p.loss));
  const x0 = 0;
  // loops, not Math.max(...spread): a long run has more points than a call may take arguments
  let x1 = 1;
  let y0 = Infinity;
  let y1 = -Infinity;
  for (const p of pts) {
    x1 = Math.max(x1, p.step);
    y0 = Math.min(y0, p.loss);
    y1 = Math.max(y1, p.loss);
  }
  if (!Number.isFinite(y0)) [y0, y1] = [0, 1];
  if (y1 - y0 < 1e-6) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const pad = (y1 - y0) * 0.05;
  y0 = Math.max(0, y0 - pad);
  y1 += pad;
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (s: number) => M.left + ((s - x0) / (x1 - x0)) * pw;
  const sy = (l: number) => M.top + (1 - (l - y0) / (y1 - y0)) * ph;
  const path = (ps: { step: number; loss: number }[]) =>
    ps
      .filter((p) => Number.isFinite(p.loss))
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.step).toFixed(1)},${sy(p.loss).toFixed(1)}`)
      .join(' ');
  // centred moving average over ±h points (no lag, unlike an EMA, while the loss falls fast)
  const h = Math.max(2, Math.round(d.train.length / 80));
  const sum = new Float64Array(d.train.length + 1); // prefix sums over the finite losses, and their counts
  const cnt = new Float64Array(d.train.length + 1);
  d.train.forEach((p, i) => {
    const ok = Number.isFinite(p.loss);
    sum[i + 1] = sum[i] + (ok ? p.loss : 0);
    cnt[i + 1] = cnt[i] + (ok ? 1 : 0);
  });
  const smooth = d.train.map((p, i) => {
    const lo = Math.max(0, i - h);
    const hi = Math.min(d.train.length, i + h + 1);
    return { step: p.step, loss: (sum[hi] - sum[lo]) / (cnt[hi] - cnt[lo]) }; // 0/0 = NaN: not drawn
  });
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="15">${esc(d.title ?? 'loss')}</text>`,
  ];
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
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#888"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">step</text>`,
    `<text x="16" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${M.top + ph / 2})">cross-entropy loss (nats)</text>`,
    `<path d="${path(d.train)}" fill="none" stroke="#9ecae1" stroke-width="1"/>`,
    `<path d="${path(smooth)}" fill="none" stroke="#08519c" stroke-width="2"/>`,
    `<path d="${path(d.val)}" fill="none" stroke="#e6550d" stroke-width="1.5" stroke-dasharray="4 3"/>`,
  );
  if (ref) {
    const y = sy(ref.loss).toFixed(1);
    out.push(
      `<line x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}" stroke="#31a354" stroke-dasharray="6 4"/>`,
      `<text x="${M.left + 6}" y="${(Number(y) - 5).toFixed(1)}" fill="#31a354">${esc(ref.label)} ${ref.loss.toFixed(3)}</text>`,
    );
  }
  for (const p of d.val) {
    if (Number.isFinite(p.loss)) out.push(`<circle cx="${sx(p.step).toFixed(1)}" cy="${sy(p.loss).toFixed(1)}" r="3" fill="#e6550d"/>`);
  }
  const lx = W - M.right - 170;
  out.push(
    `<rect x="${lx}" y="${M.top + 8}" width="160" height="58" fill="white" stroke="#ccc"/>`,
    `<line x1="${lx + 8}" x2="${lx + 30}" y1="${M.top + 22}" y2="${M.top + 22}" stroke="#9ecae1"/><text x="${lx + 36}" y="${M.top + 26}">train (per step)</text>`,
    `<line x1="${lx + 8}" x2="${lx + 30}" y1="${M.top + 38}" y2="${M.top + 38}" stroke="#08519c" stroke-width="2"/><text x="${lx + 36}" y="${M.top + 42}">train (smoothed)</text>`,
    `<circle cx="${lx + 19}" cy="${M.top + 54}" r="3" fill="#e6550d"/><text x="${lx + 36}" y="${M.top + 58}">validation</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
