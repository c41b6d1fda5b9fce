// Kernel-level gradient checking: compares an analytic gradient with central finite differences of a
// scalar loss, all in float64. Used by the ref tests (the tensor engine checks autograd separately).
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';

/** Largest |analytic − numeric| / (atol/rtol scale) over all inputs; ≤ 1 means the gradients agree. */
export function gradError(
  loss: () => number,
  inputs: Float64Array[],
  analytic: Float64Array[],
  h = 1e-5,
  atol = 1e-6,
  rtol = 1e-5,
): number {
  let worst = 0;
  inputs.forEach((x, idx) => {
    for (let i = 0; i < x.length; i++) {
      const saved = x[i];
      x[i] = saved + h;
      const up = loss();
      x[i] = saved - h;
      const down = loss();
      x[i] = saved;
      const numeric = (up - down) / (2 * h);
      const err = Math.abs(analytic[idx][i] - numeric) / (atol + rtol * Math.abs(numeric));
      if (!(err <= worst)) worst = Number.isNaN(err) ? Infinity : Math.max(worst, err);
    }
  });
  return worst;
}

/** Σ out·w: a scalar loss whose gradient w.r.t. out is the random "upstream gradient" w. */
export function dot(out: Float64Array, w: Float64Array): number {
  let s = 0;
  for (let i = 0; i < out.length; i++) s += out[i] * w[i];
  return s;
}

/** n standard-normal float64 values (times scale) from the shared seeded Rng. */
export function randomF64(n: number, rng: Rng, scale = 1): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal(0, scale);
  return out;
}

/** Sizes the property tests draw from: 1, small primes and a few composites. */
export const smallDim = fc.constantFrom(1, 2, 3, 4, 5, 7, 11, 13);
export const seed = fc.integer({ min: 1, max: 2 ** 31 - 1 });
