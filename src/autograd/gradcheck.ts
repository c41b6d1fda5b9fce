// Gradient checking: compare the analytic gradients from backward() with central finite differences
// in float64, (f(x+ε) − f(x−ε)) / 2ε, projected on a random upstream gradient u (not ones, so errors
// that cancel under a plain sum still show): f(x) = Σ u ⊙ fn(x). The trust chain of every op and fused op.
import { Tensor } from '../tensor/tensor.js';
import { copyValues, values } from '../tensor/layout.js';
import { randn } from '../tensor/creation.js';
import { shapeStr } from '../tensor/shape.js';
import { Rng } from '../util/rng.js';
import { noGrad } from './graph.js';

export interface GradcheckOptions {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Relative tolerance (default 1e-6) … */
  rtol?: number;
  /**
   * … plus absolute tolerance (default 1e-8): pass when |a − n| <= atol + noise + rtol·max(|a|, |n|),
   * where noise = 4·ε_machine·(|f(x+ε)| + |f(x−ε)|)/2ε is the rounding floor of the difference quotient.
   */
  atol?: number;
  /** Seed of the random upstream gradient. */
  seed?: number;
  /** Indices of the inputs to check (default: all). */
  wrt?: readonly number[];
}

export interface GradcheckResult {
  ok: boolean;
  /** Largest |analytic − numeric| seen, and where. */
  maxAbsError: number;
  worst: { input: number; index: number; analytic: number; numeric: number } | null;
  /** A one-line description of the worst element (for test failures). */
  message: string;
}

export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): GradcheckResult {
  const { eps = 1e-6, rtol = 1e-6, atol = 1e-8, seed = 0 } = opts;
  const wrt = opts.wrt ?? inputs.map((_, i) => i);
  for (const x of inputs) {
    if (x.dtype !== 'float64') throw new TypeError('gradcheck: inputs must be float64 (finite differences in float32 are too coarse)');
  }
  // private contiguous leaves, so perturbing them cannot touch the caller's data
  const xs = inputs.map((x, i) => {
    const leaf = new Tensor(copyValues(x), x.shape);
    return wrt.includes(i) ? leaf.requireGrad() : leaf;
  });
  const out = fn(...xs);
  const u = randn(out.shape, { dtype: 'float64', rng: new Rng(seed) });
  out.backward(u);
  const uv = values(u);
  const objective = (): number =>
    noGrad(() => {
      const v = values(fn(...xs));
      let s = 0;
      for (let i = 0; i < v.length; i++) s += v[i] * uv[i];
      return s;
    });

  let ok = true;
  let maxAbsError = 0;
  let worst: GradcheckResult['worst'] = null;
  let worstScore = -1;
  for (const i of wrt) {
    const x = xs[i];
    const analytic = x.grad ? values(x.grad) : new Float64Array(x.size);
    for (let j = 0; j < x.size; j++) {
      const saved = x.data[j];
      x.data[j] = saved + eps;
      const fp = objective();
      x.data[j] = saved - eps;
      const fm = objective();
      x.data[j] = saved;
      const numeric = (fp - fm) / (2 * eps);
      const a = analytic[j];
      const err = Math.abs(a - numeric);
      // plus the rounding noise floor of the difference quotient itself: a few ulps of f over 2ε
      const noise = (4 * Number.EPSILON * (Math.abs(fp) + Math.abs(fm))) / (2 * eps);
      const allowed = atol + noise + rtol * Math.max(Math.abs(a), Math.abs(numeric));
      if (!(err <= allowed)) ok = false; // NaN fails too
      maxAbsError = Math.max(maxAbsError, err);
      const score = Number.isNaN(err) ? Infinity : err / allowed;
      if (score > worstScore) {
        worstScore = score;
        worst = { input: i, index: j, analytic: a, numeric };
      }
    }
  }
  const where = worst ? `input ${worst.input} ${shapeStr(xs[worst.input].shape)} element ${worst.index}: analytic ${worst.analytic}, numeric ${worst.numeric}` : 'no elements';
  return { ok, maxAbsError, worst, message: `gradcheck ${ok ? 'passed' : 'FAILED'}; worst at ${where}` };
}

/** gradcheck that throws with the worst element named when the gradients disagree. */
export function assertGradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[], opts: GradcheckOptions = {}): void {
  const r = gradcheck(fn, inputs, opts);
  if (!r.ok) throw new Error(r.message);
}
