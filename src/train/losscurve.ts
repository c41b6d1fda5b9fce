// The loss curve of a run as a standalone SVG picture (open it in any browser): training loss per step
// (faint) with a centred moving average (bold), validation loss as points, labelled axes and a legend.
// Drawn by the shared line plot (src/plot/line.ts).
import { lineChartSvg } from '../plot/line.js';

export interface LossCurveData {
  train: { step: number; loss: number }[];
  val: { step: number; loss: number }[];
  title?: string;
  /** A reference level drawn as a horizontal line, e.g. the unigram baseline. */
  baseline?: { loss: number; label: string };
}

/** Centred moving average over ±h points (no lag, unlike an EMA, while the loss falls fast); NaNs skipped. */
function smooth(train: LossCurveData['train']): { step: number; loss: number }[] {
  const h = Math.max(2, Math.round(train.length / 80));
  const sum = new Float64Array(train.length + 1); // prefix sums over the finite losses, and their counts
  const cnt = new Float64Array(train.length + 1);
  train.forEach((p, i) => {
    const ok = Number.isFinite(p.loss);
    sum[i + 1] = sum[i] + (ok ? p.loss : 0);
    cnt[i + 1] = cnt[i] + (ok ? 1 : 0);
  });
  return train.map((p, i) => {
    const lo = Math.max(0, i - h);
    const hi = Math.min(train.length, i + h + 1);
    return { step: p.step, loss: (sum[hi] - sum[lo]) / (cnt[hi] - cnt[lo]) }; // 0/0 = NaN: not drawn
  });
}

export function lossCurveSvg(d: LossCurveData): string {
  const xy = (ps: { step: number; loss: number }[]) => ps.map((p) => ({ x: p.step, y: p.loss }));
  return lineChartSvg({
    title: d.title ?? 'loss',
    xLabel: 'step',
    yLabel: 'cross-entropy loss (nats)',
    xMin: 0,
    series: [
      { label: 'train (per step)', points: xy(d.train), color: '#9ecae1', width: 1 },
      { label: 'train (smoothed)', points: xy(smooth(d.train)), color: '#08519c', width: 2 },
      { label: 'validation', points: xy(d.val), color: '#e6550d', dash: '4 3', dots: true },
    ],
    hlines: d.baseline ? [{ y: d.baseline.loss, label: d.baseline.label }] : [],
  });
}
