// The wasm tier's causal attention and layernorm, forward and backward, against the float64 `ref` oracle:
// random shapes including T = 1, primes, head sizes and widths that are not multiples of 4, 1–4 heads, 1 and
// 2 threads (every call split, however small); overwritten outputs start as NaN so an unwritten float fails;
// arrays outside the arena and Float64Array take the fallback and still match.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/ref.js';
import type { FloatArray } from '../../src/kernels/types.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { Arena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

const arena = new Arena({ initialBytes: 64 << 20 });
const tiers = [1, 2].map((threads) => createWasmKernels({ threads, arena, parallelMinMacs: 0 }));

const shape = fc.record({
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.oneof(fc.constantFrom(1, 2, 3, 5, 7, 13, 31, 64), fc.integer({ min: 1, max: 40 })),
  NH: fc.integer({ min: 1, max: 4 }),
  hs: fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 16, 17, 64), fc.integer({ min: 1, max: 24 })),
});
type Shape = { B: number; T: number; NH: number; hs: number };

function randn(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal());
}

/** A float32 copy of x, in the arena or on the heap. */
function f32(x: ArrayLike<number>, inArena: boolean): Float32Array {
  const y = inArena ? arena.f32(x.length) : new Float32Array(x.length);
  y.set(x);
  return y;
}

function expectClose(got: FloatArray, want: FloatArray, what: string, conditioning = 1): void {
  let max = 0;
  for (const v of want) max = Math.max(max, Math.abs(v));
  for (let i = 0; i < want.length; i++) {
    const tol = conditioning * (2e-5 * (Math.abs(want[i]) + max) + 1e-6);
    if (!(Math.abs(got[i] - want[i]) <= tol)) expect.fail(`${what}: [${i}] = ${got[i]}, ref ${want[i]}`);
  }
}

/** Forward then backward on every tier with the given placement, each output checked against ref in float64. */
function check({ B, T, NH, hs }: Shape, seed: number, inArena: boolean): void {
  const C = NH * hs;
  const rng = new Rng(seed);
  const qkv = Float64Array.from(f32(randn(B * T * 3 * C, rng), false)); // float32-rounded values
  const dout = Float64Array.from(f32(randn(B * T * C, rng), false));
  const dqkv0 = Float64Array.from(f32(randn(B * T * 3 * C, rng), false));
  const S = B * NH * T * T;
  const want = { out: new Float64Array(B * T * C), preatt: new Float64Array(S), att: new Float64Array(S), dqkv: Float64Array.from(dqkv0), dpreatt: new Float64Array(S), datt: new Float64Array(S) };
  ref.attentionForward(want.out, want.preatt, want.att, qkv, B, T, C, NH);
  ref.attentionBackward(want.dqkv, want.dpreatt, want.datt, dout, qkv, want.att, B, T, C, NH);
  for (const k of tiers) {
    const mark = arena.mark();
    const what = `threads=${k.threads} B=${B} T=${T} NH=${NH} hs=${hs} arena=${inArena}`;
    const nan = (n: number) => f32(new Float64Array(n).fill(NaN), inArena); // outputs the kernels overwrite
    const [out, preatt, att, dpreatt, datt] = [nan(B * T * C), nan(S), nan(S), nan(S), nan(S)];
    const q = f32(qkv, inArena);
    k.attentionForward(out, preatt, att, q, B, T, C, NH);
    expectClose(out, want.out, `${what} out`);
    expectClose(preatt, want.preatt, `${what} preatt`);
    expectClose(att, want.att, `${what} att`);
    // backward from ref's att, so that it is tested on its own
    const dqkv = f32(dqkv0, inArena);
    k.attentionBackward(dqkv, dpreatt, datt, f32(dout, inArena), q, f32(want.att, inArena), B, T, C, NH);
    expectClose(dqkv, want.dqkv, `${what} dqkv`);
    expectClose(dpreatt, want.dpreatt, `${what} dpreatt`);
    expectClose(datt, want.datt, `${what} datt`);
    arena.release(mark);
  }
}

describe('wasm attention vs ref', () => {
  it('random shapes in the arena (wasm, 1 and 2 threads)', () => {
    fc.assert(fc.property(shape, fc.integer(), (s, seed) => check(s, seed, true)), { numRuns: 120 });
  });

  it('GPT-2 head size 64 with T crossing the lane width', () => {
    for (const T of [1, 4, 63, 65]) check({ B: 2, T, NH: 3, hs: 64 }, T, true);
  });

  it('arrays outside the arena take the fallback and match too', () => {
    fc.assert(fc.property(shape, fc.integer(), (s, seed) => check(s, seed, false)), { numRuns: 20 });
  });

  it('Float64Array goes to ref exactly', () => {
    const [B, T, C, NH] = [2, 5, 6, 2];
    const rng = new Rng(7);
    const qkv = randn(B * T * 3 * C, rng);
    const outs = [0, 1].map(() => ({ out: new Float64Array(B * T * C), preatt: new Float64Array(B * NH * T * T), att: new Float64Array(B * NH * T * T) }));
    ref.attentionForward(outs[0].out, outs[0].preatt, outs[0].att, qkv, B, T, C, NH);
    tiers[1].attentionForward(outs[1].out, outs[1].preatt, outs[1].att, qkv, B, T, C, NH);
    expect(outs[1]).toEqual(outs[0]);
  });
});

/** Layernorm forward then backward on every tier, checked against ref in float64. */
function checkLayernorm(N: number, C: number, seed: number, inArena: boolean): void {
  const rng = new Rng(seed);
  const r32 = (n: number) => Float64Array.from(f32(randn(n, rng), false));
  const [inp, w, bias, dout, dinp0, dw0, db0] = [r32(N * C), r32(C), r32(C), r32(N * C), r32(N * C), r32(C), r32(C)];
  const want = { out: new Float64Array(N * C), mean: new Float64Array(N), rstd: new Float64Array(N), dinp: Float64Array.from(dinp0), dw: Float64Array.from(dw0), db: Float64Array.from(db0) };
  ref.layernormForward(want.out, want.mean, want.rstd, inp, w, bias, N, C, 1e-5);
  ref.layernormBackward(want.dinp, want.dw, want.db, dout, inp, w, want.mean, want.rstd, N, C);
  // Float32 rounding of x − mean is amplified by rstd·|x| when a row's values nearly coincide (small C):
  // the tolerance scales with that condition number, as any float32 layernorm's error does.
  let kappa = 1;
  for (let r = 0; r < N; r++) for (let j = 0; j < C; j++) kappa = Math.max(kappa, want.rstd[r] * Math.abs(inp[r * C + j]));
  for (const k of tiers) {
    const mark = arena.mark();
    const what = `threads=${k.threads} N=${N} C=${C} arena=${inArena}`;
    const nan = (n: number) => f32(new Float64Array(n).fill(NaN), inArena);
    const [out, mean, rstd] = [nan(N * C), nan(N), nan(N)];
    const [x, wt] = [f32(inp, inArena), f32(w, inArena)];
    k.layernormForward(out, mean, rstd, x, wt, f32(bias, inArena), N, C, 1e-5);
    expectClose(out, want.out, `${what} out`, kappa);
    expectClose(mean, want.mean, `${what} mean`);
    expectClose(rstd, want.rstd, `${what} rstd`);
    const [dinp, dw, db] = [f32(dinp0, inArena), f32(dw0, inArena), f32(db0, inArena)];
    k.layernormBackward(dinp, dw, db, f32(dout, inArena), x, wt, f32(want.mean, inArena), f32(want.rstd, inArena), N, C);
    expectClose(dinp, want.dinp, `${what} dinp`, kappa);
    expectClose(dw, want.dw, `${what} dweight`, kappa);
    expectClose(db, want.db, `${what} dbias`, kappa);
    arena.release(mark);
  }
}

describe('wasm layernorm vs ref', () => {
  const n = fc.oneof(fc.constantFrom(1, 2, 3, 7, 13, 64), fc.integer({ min: 1, max: 70 }));
  const c = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 15, 16, 17, 33, 384, 768), fc.integer({ min: 1, max: 100 }));

  it('random shapes in the arena (wasm, 1 and 2 threads)', () => {
    fc.assert(fc.property(n, c, fc.integer(), (N, C, seed) => checkLayernorm(N, C, seed, true)), { numRuns: 120 });
  });

  it('arrays outside the arena take the fallback and match too', () => {
    fc.assert(fc.property(n, c, fc.integer(), (N, C, seed) => checkLayernorm(N, C, seed, false)), { numRuns: 20 });
  });
});
