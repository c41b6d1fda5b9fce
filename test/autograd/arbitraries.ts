// Shared fast-check arbitraries and float64 tensor builders for the autograd tests.
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import { randn, Tensor, map } from '../../src/tensor/index.js';

export const dim = fc.integer({ min: 1, max: 4 });
export const shapeArb = (minLength = 0, maxLength = 3) => fc.array(dim, { minLength, maxLength });
export const seedArb = fc.integer({ min: 0, max: 2 ** 31 - 1 });

/** A shape and a second shape that broadcasts against it (some axes set to 1, some leading axes dropped). */
export const broadcastPairArb = shapeArb(0, 3).chain((s) =>
  fc.tuple(fc.constant(s), fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }), fc.integer({ min: 0, max: s.length })).map(
    ([a, ones, drop]) => [a, a.map((d, i) => (ones[i] ? 1 : d)).slice(drop)] as const,
  ),
);

export function f64(shape: readonly number[], rng: Rng, scale = 1): Tensor {
  return randn(shape, { dtype: 'float64', rng, std: scale });
}

/** Values kept at least `gap` away from zero (for log, sqrt, division, relu's kink). */
export function awayFromZero(t: Tensor, gap = 0.2, positive = false): Tensor {
  return map(t, (v) => (positive ? Math.abs(v) + gap : v >= 0 ? v + gap : v - gap));
}

export const runs = (n: number) => ({ numRuns: n });
