// The counter-based dropout mask (src/models/gpt2/dropout.ts): the share dropped is p, the kept values are
// scaled by 1/(1−p) so the mean is kept, the same seed gives the same mask, and other seeds give other masks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dropout, keepScale } from '../../src/models/gpt2/dropout.js';

describe('dropout mask', () => {
  it('drops a share p of the values, scales the rest by 1/(1−p), and agrees with keepScale', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.01, max: 0.9, noNaN: true }), fc.integer({ min: 0, max: 2 ** 32 - 1 }), (p, seed) => {
        const n = 20000;
        const x = new Float64Array(n).fill(3);
        const out = new Float64Array(n);
        dropout(out, x, n, p, seed);
        let dropped = 0;
        for (let i = 0; i < n; i++) {
          if (out[i] === 0) dropped++;
          else expect(out[i]).toBe(3 * (1 / (1 - p)));
          expect(out[i]).toBe(3 * keepScale(seed, i, p));
        }
        // binomial(n, p): 5 standard deviations
        expect(Math.abs(dropped / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
      }),
      { numRuns: 30, seed: 3 },
    );
  });

  it('the same seed gives the same mask (in place or not); another seed gives another; p = 0 keeps everything', () => {
    const n = 1000;
    const x = Float32Array.from({ length: n }, (_, i) => i + 1);
    const a = new Float32Array(n);
    dropout(a, x, n, 0.3, 42);
    const b = Float32Array.from(x);
    dropout(b, b, n, 0.3, 42);
    expect(Buffer.from(b.buffer).equals(Buffer.from(a.buffer))).toBe(true);
    const c = new Float32Array(n);
    dropout(c, x, n, 0.3, 43);
    let differ = 0;
    for (let i = 0; i < n; i++) if ((a[i] === 0) !== (c[i] === 0)) differ++;
    expect(differ).toBeGreaterThan(n * 0.3); // independent masks disagree on 2p(1−p) = 42% of the places
    const d = new Float32Array(n);
    dropout(d, x, n, 0, 42);
    expect(Array.from(d)).toEqual(Array.from(x));
  });
});
