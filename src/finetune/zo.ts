// Zeroth-order SGD (MeZO: Malladi et al. 2023, "Fine-Tuning Language Models with Just Forward Passes"; as in
// PocketLLM): per perturbation k, z ~ N(0,1) (2^16 quantiles) from a seed, g = (L(θ+εz) − L(θ−εz)) / 2ε, then θ −= lr·g·z.
// z is never stored: it is regenerated from its seed for +εz, −2εz, +εz and the update, so memory is that of
// inference. To make the round trip exact, each tensor lives on a power-of-two grid q during the step (θ and
// every ±εz snapped to multiples of q, with headroom so all sums are exact in the array's float format).
import type { FloatArray } from '../kernels/types.js';
import type { TensorEntry } from '../models/gpt2/params.js';
import { deriveSeed, Rng } from '../util/rng.js';

/** log2 of the levels of the normal table: z is one of 2^16 equally likely N(0,1) quantiles. */
const LEVELS_LOG2 = 16;

/** Standard normal quantile Φ⁻¹(p), 0 < p < 1 (Acklam's rational approximation, relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number) => (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/**
 * The 2^16 midpoint quantiles of N(0,1), rescaled so their mean square is exactly 1 (E[z zᵀ] = I, which the
 * estimator needs); symmetric, so the mean is 0. One 32-bit draw per value (its top 16 bits index the table)
 * instead of log/cos keeps the four passes over 124M weights cheap.
 */
const NORMAL_TABLE: Float64Array = (() => {
  const n = 1 << LEVELS_LOG2;
  const t = new Float64Array(n);
  let sq = 0;
  for (let i = 0; i < n; i++) {
    t[i] = normalQuantile((i + 0.5) / n);
    sq += t[i] * t[i];
  }
  const scale = 1 / Math.sqrt(sq / n);
  for (let i = 0; i < n; i++) t[i] *= scale;
  return t;
})();

/** Largest |z| the table gives. */
const Z_MAX = NORMAL_TABLE[NORMAL_TABLE.length - 1];

/** The seed of perturbation k of a step: a hash of the run seed, the step and k. */
export function zoSeed(seed: number, step: number, k: number): number {
  return deriveSeed(seed, 0x2545f491, step, k);
}

/**
 * The trainable tensors of a zeroth-order fine-tune (views into one buffer) and their grids. A step is
 * `grid(ε)`, then per perturbation `perturb(seed, ε, +1)`, loss, `perturb(seed, ε, −2)`, loss,
 * `perturb(seed, ε, +1)` (θ restored bit for bit), and finally `update(seed, −lr·g/n)` for each.
 */
export class ZoPerturbation {
  /** Per tensor: the grid step q (a power of two). */
  private readonly quanta: Float64Array;
  /** Significand bits of the buffer's float format minus one (23 for float32, 52 for float64). */
  private readonly bits: number;

  constructor(
    readonly params: FloatArray,
    readonly tensors: readonly TensorEntry[],
  ) {
    this.quanta = new Float64Array(tensors.length);
    this.bits = params instanceof Float64Array ? 52 : 23;
  }

  /**
   * Chooses each tensor's grid for perturbations up to ε·|z| and snaps the tensor onto it (a no-op when it
   * is already there): q = 2^(⌈log2(max|θ| + 2ε·Z_MAX)⌉ − bits), so every θ ± k·q reached is exact.
   */
  grid(eps: number): void {
    this.tensors.forEach((e, t) => {
      const w = this.params.subarray(e.offset, e.offset + e.size);
      let max = 0;
      for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
      const q = 2 ** (Math.ceil(Math.log2(max + 2 * eps * Z_MAX)) - this.bits);
      this.quanta[t] = q;
      const inv = 1 / q;
      for (let i = 0; i < w.length; i++) w[i] = Math.round(w[i] * inv) * q;
    });
  }

  /** θ += times·ε·z(seed), with ε·z rounded to its tensor's grid first (call grid(ε) first): exact and reversible. */
  perturb(seed: number, eps: number, times: number): void {
    const rng = new Rng(seed);
    this.tensors.forEach((e, t) => {
      const q = this.quanta[t];
      const units = eps / q; // ε in grid steps (q is a power of two: exact)
      const step = times * q;
      const w = this.params.subarray(e.offset, e.offset + e.size);
      for (let i = 0; i < w.length; i++) w[i] += step * Math.round(units * NORMAL_TABLE[rng.nextU32() >>> 16]);
    });
  }

  /** θ += scale·z(seed) (the update; rounded as the buffer's float format rounds, the next grid() snaps it). */
  update(seed: number, scale: number): void {
    const rng = new Rng(seed);
    for (const e of this.tensors) {
      const w = this.params.subarray(e.offset, e.offset + e.size);
      for (let i = 0; i < w.length; i++) w[i] += scale * NORMAL_TABLE[rng.nextU32() >>> 16];
    }
  }
}
