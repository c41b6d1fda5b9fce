// Int8 quantization error bounds per tensor: every value within half a step of its group's scale, scales equal to
// max|w|/127 of their group, values in [-127, 127]; per-row and per-group layouts; non-finite weights refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantizeInt8, groupsPerRow, quantizeInt8, type Int8Group } from '../../src/export/quantize.js';
import { Rng } from '../../src/util/rng.js';

describe('quantizeInt8', () => {
  it('keeps every value within half a step of its group scale', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 150 }), fc.constantFrom<Int8Group>(0, 32, 64), fc.integer(), fc.double({ min: 1e-6, max: 1e3, noNaN: true }), (rows, cols, group, seed, mag) => {
        const rng = new Rng(seed);
        const w = Float32Array.from({ length: rows * cols }, (_, i) => (i % 11 === 4 ? 0 : rng.normal(0, mag)));
        const t = quantizeInt8(w, rows, cols, group);
        const per = groupsPerRow(cols, group);
        const len = group || cols;
        expect(t.scales.length).toBe(rows * per);
        const back = dequantizeInt8(t);
        for (let r = 0; r < rows; r++) {
          for (let g = 0; g < per; g++) {
            let max = 0;
            for (let c = g * len; c < Math.min(cols, (g + 1) * len); c++) max = Math.max(max, Math.abs(w[r * cols + c]));
            const s = t.scales[r * per + g];
            expect(s).toBe(Math.fround(max / 127));
            for (let c = g * len; c < Math.min(cols, (g + 1) * len); c++) {
              const i = r * cols + c;
              expect(Math.abs(t.q[i])).toBeLessThanOrEqual(127);
              expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(s / 2 + 2 ** -23 * Math.abs(w[i]) + 1e-30);
            }
          }
        }
      }),
      { numRuns: 80 },
    );
  });

  it('uses the full range: the largest value of a group maps to ±127, an all-zero group to scale 0', () => {
    const w = Float32Array.of(0.5, -2, 1, 0, 0, 0, 0, 0);
    const t = quantizeInt8(w, 2, 4, 0);
    expect(Array.from(t.q)).toEqual([32, -127, 64, 0, 0, 0, 0, 0]);
    expect(t.scales[1]).toBe(0);
  });

  it('refuses non-finite weights, naming where', () => {
    expect(() => quantizeInt8(Float32Array.of(1, NaN), 1, 2, 0)).toThrow(/row 0, column 1 is not finite/);
    expect(() => quantizeInt8(Float32Array.of(Infinity, 1), 1, 2, 32)).toThrow(/not finite/);
  });
});
