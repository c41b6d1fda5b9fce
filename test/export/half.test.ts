// f16 / bf16 conversions against a float64 reference computed from the IEEE 754 bit layouts:
// binary16 = 1 sign, 5 exponent (bias 15), 10 mantissa bits; bfloat16 = the top 16 bits of a binary32
// (1 sign, 8 exponent (bias 127), 7 mantissa bits). Subnormals: exponent 0, value m·2^(1-bias-mbits).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { bf16BitsToF32, decodeBf16, decodeF16, encodeBf16, encodeF16, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/export/half.js';

interface Layout {
  expBits: number;
  mantBits: number;
}
const F16: Layout = { expBits: 5, mantBits: 10 };
const BF16: Layout = { expBits: 8, mantBits: 7 };

/** Value of a 16-bit pattern, in float64 arithmetic. With `rounding`, +inf counts as 2^(emax+1), the value
 * IEEE round-to-nearest uses to decide overflow. */
function refValue(bits: number, L: Layout, rounding = false): number {
  const bias = (1 << (L.expBits - 1)) - 1;
  const sign = bits & 0x8000 ? -1 : 1;
  const e = (bits >> L.mantBits) & ((1 << L.expBits) - 1);
  const m = bits & ((1 << L.mantBits) - 1);
  if (e === (1 << L.expBits) - 1) return m ? NaN : rounding ? sign * 2 ** (bias + 1) : sign * Infinity;
  if (e === 0) return sign * m * 2 ** (1 - bias - L.mantBits);
  return sign * 2 ** (e - bias) * (1 + m / 2 ** L.mantBits);
}

/** Nearest-even pattern for x, by searching the ordered magnitudes (patterns 0..inf are increasing). */
function refEncode(x: number, L: Layout): number {
  const infBits = ((1 << L.expBits) - 1) << L.mantBits;
  if (Number.isNaN(x)) return -1;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a === Infinity) return sign | infBits;
  let lo = 0;
  let hi = infBits; // refValue(lo) <= a < refValue(hi) (hi = inf counted as 2^(emax+1))
  if (a >= refValue(infBits, L, true)) return sign | infBits;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (refValue(mid, L, true) <= a) lo = mid;
    else hi = mid;
  }
  const dLo = a - refValue(lo, L, true);
  const dHi = refValue(hi, L, true) - a;
  return sign | (dLo < dHi || (dLo === dHi && (lo & 1) === 0) ? lo : hi);
}

describe('f16 and bf16 decoding', () => {
  it('decodes all 65536 f16 patterns exactly (subnormals, ±0, ±inf, NaN)', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const table = new Float32Array(65536);
    decodeF16(all, table);
    const wrong: number[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = refValue(h, F16);
      const got = f16BitsToF32(h);
      // NaN payloads cannot survive a JS number (the engine may quiet them); NaN must stay NaN
      const ok = Object.is(table[h], got) && (Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want));
      if (!ok) wrong.push(h);
    }
    expect(wrong).toEqual([]);
  });

  it('decodes all 65536 bf16 patterns exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const out = new Float32Array(65536);
    decodeBf16(all, out);
    const outBits = new Uint32Array(out.buffer); // the array decoder keeps every bit, NaN payloads included
    const wrong: number[] = [];
    for (let b = 0; b < 65536; b++) {
      const want = refValue(b, BF16);
      const scalar = bf16BitsToF32(b);
      const ok = outBits[b] === (b << 16) >>> 0 && (Number.isNaN(want) ? Number.isNaN(scalar) : Object.is(scalar, want) && Object.is(out[b], want));
      if (!ok) wrong.push(b);
    }
    expect(wrong).toEqual([]);
  });
});

describe('f16 and bf16 encoding (round to nearest, ties to even)', () => {
  const anyFloat = fc.oneof(
    fc.float(), // every float32 incl. NaN, ±inf, ±0, subnormals
    fc.float({ min: -70000, max: 70000, noNaN: true }), // the f16 range and its overflow edge
    fc.float({ min: Math.fround(-1e-4), max: Math.fround(1e-4), noNaN: true }), // f16 subnormals
  );

  it('f32 -> f16 matches the float64 reference', () => {
    fc.assert(
      fc.property(anyFloat, (x) => {
        const got = f32ToF16Bits(x);
        if (Number.isNaN(x)) expect((got & 0x7c00) === 0x7c00 && (got & 0x3ff) !== 0).toBe(true);
        else expect(got).toBe(refEncode(x, F16));
      }),
      { numRuns: 5000 },
    );
  });

  it('f32 -> bf16 matches the float64 reference', () => {
    fc.assert(
      fc.property(fc.oneof(fc.float(), fc.float({ min: Math.fround(-1e-38), max: Math.fround(1e-38) })), (x) => {
        const got = f32ToBf16Bits(x);
        if (Number.isNaN(x)) expect((got & 0x7f80) === 0x7f80 && (got & 0x7f) !== 0).toBe(true);
        else expect(got).toBe(refEncode(x, BF16));
      }),
      { numRuns: 5000 },
    );
  });

  it('rounds exact halfway points to the even neighbour (f16 and bf16), overflowing to inf', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7bff }), fc.boolean(), (h, neg) => {
        // midpoint of h and h+1 has at most 12 significant bits: exact in float32
        const mid = (refValue(h, F16, true) + refValue(h + 1, F16, true)) / 2;
        const x = neg ? -mid : mid;
        const even = (h & 1) === 0 ? h : h + 1;
        expect(f32ToF16Bits(x)).toBe((neg ? 0x8000 : 0) | even);
      }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0x7f7f }), (b) => {
        const mid = (refValue(b, BF16, true) + refValue(b + 1, BF16, true)) / 2; // 9 significant bits
        expect(f32ToBf16Bits(mid)).toBe((b & 1) === 0 ? b : b + 1);
      }),
    );
    expect(f32ToF16Bits(65504)).toBe(0x7bff);
    expect(f32ToF16Bits(65519.99)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
    expect(f32ToF16Bits(-1e9)).toBe(0xfc00);
    expect(f32ToF16Bits(2 ** -25)).toBe(0); // half the smallest subnormal: tie to even 0
    expect(f32ToF16Bits(3 * 2 ** -25)).toBe(2); // 1.5 ulp: tie to even 2
    expect(f32ToBf16Bits(3.4028234663852886e38)).toBe(0x7f80); // float32 max rounds past bf16 max
  });

  it('array encoders equal the scalar ones and decode back to the rounded value', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ noNaN: true }), { maxLength: 200 }), (xs) => {
        const src = Float32Array.from(xs);
        const h = new Uint16Array(src.length);
        const b = new Uint16Array(src.length);
        encodeF16(src, h);
        encodeBf16(src, b);
        const back = new Float32Array(src.length);
        decodeBf16(b, back);
        for (let i = 0; i < src.length; i++) {
          expect(h[i]).toBe(f32ToF16Bits(src[i]));
          expect(b[i]).toBe(f32ToBf16Bits(src[i]));
          expect(Object.is(back[i], bf16BitsToF32(b[i]))).toBe(true);
        }
      }),
    );
  });
});
