// Sinusoidal position init: each row has the norm of an N(0, std) row, the similarity of two positions depends only on
// their distance (the property that makes relative attention one linear map), nearby positions are more alike than
// far ones, a share of the random init is kept, and an odd width leaves its last column alone.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initSinusoidalPositions, POSITION_INIT_KEEP } from '../../src/models/gpt2/position-init.js';
import { Rng } from '../../src/util/rng.js';

const dot = (w: Float32Array, C: number, a: number, b: number) => {
  let s = 0;
  for (let c = 0; c < C; c++) s += w[a * C + c] * w[b * C + c];
  return s;
};

describe('initSinusoidalPositions', () => {
  it('gives rows of norm std·√C whose dot product depends only on the distance', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 48 }).map((h) => 2 * h), fc.integer({ min: 8, max: 200 }), fc.double({ min: 0.005, max: 0.1, noNaN: true }), (C, T, std) => {
        const wpe = new Float32Array(T * C); // zeros: the sinusoid alone
        initSinusoidalPositions(wpe, C, std);
        for (let t = 0; t < T; t += 7) expect(Math.sqrt(dot(wpe, C, t, t))).toBeCloseTo(std * Math.sqrt(C), 5);
        const tol = 1e-5 * std * std * C;
        for (const k of [1, 3, Math.floor(T / 2)]) {
          const d0 = dot(wpe, C, 0, k);
          for (let t = 1; t + k < T; t += 5) expect(Math.abs(dot(wpe, C, t, t + k) - d0)).toBeLessThan(tol);
        }
        // with enough frequencies (a narrow width aliases), a neighbour is more alike than a position 50 away
        if (C >= 32 && T > 50) expect(dot(wpe, C, 0, 1)).toBeGreaterThan(dot(wpe, C, 0, 50) + tol);
      }),
    );
  });

  it('keeps a share of the random init and leaves an odd last column alone', () => {
    const C = 9;
    const T = 20;
    const rng = new Rng(3);
    const before = Float32Array.from({ length: T * C }, () => rng.normal(0, 0.02));
    const mixed = before.slice();
    initSinusoidalPositions(mixed, C, 0.02);
    const pure = new Float32Array(T * C);
    initSinusoidalPositions(pure, C, 0.02);
    for (let t = 0; t < T; t++) {
      for (let c = 0; c < C - 1; c++) expect(mixed[t * C + c]).toBeCloseTo(pure[t * C + c] + POSITION_INIT_KEEP * before[t * C + c], 7);
      expect(mixed[t * C + C - 1]).toBe(before[t * C + C - 1]);
      expect(pure[t * C + C - 1]).toBe(0);
    }
  });
});
