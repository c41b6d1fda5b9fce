// Fused ops (hand-written backward through the kernels) against the composition of primitive ops they
// replace: same forward values and same gradients for a random upstream gradient; plus their own
// finite-difference gradcheck. All in float64.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import { Tensor, randn, tensor, values } from '../../src/tensor/index.js';
import * as F from '../../src/autograd/index.js';
import { assertGradcheck } from '../../src/autograd/index.js';
import { explicitAttention } from '../../src/models/nanogpt.js';
import { f64, runs, seedArb, shapeArb } from './arbitraries.js';

/** Run fused and composed on private leaf copies with one random upstream gradient; compare everything. */
function expectSameAsComposition(fused: (...xs: Tensor[]) => Tensor, composed: (...xs: Tensor[]) => Tensor, inputs: Tensor[], seed: number): void {
  const run = (fn: (...xs: Tensor[]) => Tensor) => {
    const xs = inputs.map((x) => new Tensor(Float64Array.from(values(x)), x.shape).requireGrad());
    const out = fn(...xs);
    out.backward(randn(out.shape, { dtype: 'float64', rng: new Rng(seed) }));
    return { out: out.toArray(), shape: out.shape, grads: xs.map((x) => x.grad!.toArray()) };
  };
  const a = run(fused);
  const b = run(composed);
  expect(a.shape).toEqual(b.shape);
  expectClose(a.out, b.out);
  a.grads.forEach((g, i) => expectClose(g, b.grads[i]));
}

function expectClose(a: number[], b: number[], tol = 1e-9): void {
  expect(a.length).toBe(b.length);
  a.forEach((v, i) => {
    if (!(Math.abs(v - b[i]) <= tol * (1 + Math.abs(b[i])))) throw new Error(`element ${i}: ${v} vs ${b[i]}`);
  });
}

const geluComposed = (x: Tensor) =>
  F.mul(F.mul(x, 0.5), F.add(1, F.tanh(F.mul(Math.sqrt(2 / Math.PI), F.add(x, F.mul(0.044715, F.pow(x, 3)))))));

const layerNormComposed = (x: Tensor, w: Tensor, b: Tensor, eps = 1e-5) => {
  const xc = F.sub(x, F.mean(x, -1, true));
  const variance = F.mean(F.mul(xc, xc), -1, true);
  return F.add(F.mul(F.div(xc, F.sqrt(F.add(variance, eps))), w), b);
};

function crossEntropyComposed(logits: Tensor, targets: number[], ignoreIndex: number, mask?: number[]): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const rows = F.reshape(F.logSoftmax(logits, -1), [-1, V]);
  const counted = targets.map((t, i) => (t !== ignoreIndex && (!mask || mask[i] !== 0) ? 1 : 0));
  const picked = F.gather(rows, 1, targets.map((t, i) => (counted[i] ? t : 0)), [targets.length, 1]);
  const weights = tensor(counted, { shape: [targets.length, 1], dtype: 'float64' });
  const count = counted.reduce<number>((s, c) => s + c, 0);
  return F.neg(F.div(F.sum(F.mul(picked, weights)), Math.max(count, 1)));
}

describe('fused ops match their compositions and pass gradcheck', () => {
  it('gelu', () => {
    fc.assert(
      fc.property(shapeArb(), seedArb, (shape, seed) => {
        const x = f64(shape, new Rng(seed), 2);
        expectSameAsComposition(F.gelu, geluComposed, [x], seed);
        assertGradcheck(F.gelu, [x], { seed });
      }),
      runs(25),
    );
  });

  it('layerNorm', () => {
    fc.assert(
      fc.property(shapeArb(0, 2), fc.integer({ min: 2, max: 6 }), seedArb, (lead, C, seed) => {
        const rng = new Rng(seed);
        const inputs = [f64([...lead, C], rng), f64([C], rng), f64([C], rng)];
        expectSameAsComposition((x, w, b) => F.layerNorm(x, w, b), (x, w, b) => layerNormComposed(x, w, b), inputs, seed);
        assertGradcheck((x, w, b) => F.layerNorm(x, w, b), inputs, { seed });
      }),
      runs(25),
    );
  });

  it('linear (with and without bias)', () => {
    fc.assert(
      fc.property(shapeArb(1, 2), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }), fc.boolean(), seedArb, (lead, IN, OUT, hasBias, seed) => {
        const rng = new Rng(seed);
        const inputs = [f64([...lead, IN], rng), f64([OUT, IN], rng), f64([OUT], rng)];
        const fused = (x: Tensor, w: Tensor, b: Tensor) => (hasBias ? F.linear(x, w, b) : F.add(F.linear(x, w), F.mul(b, 0)));
        const composed = (x: Tensor, w: Tensor, b: Tensor) => F.add(F.matmul(x, F.transpose(w)), hasBias ? b : F.mul(b, 0));
        expectSameAsComposition(fused, composed, inputs, seed);
        assertGradcheck(fused, inputs, { seed });
      }),
      runs(25),
    );
  });

  it('causal self-attention', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), seedArb, (B, T, NH, hs, seed) => {
        const qkv = f64([B, T, 3 * NH * hs], new Rng(seed));
        expectSameAsComposition((x) => F.causalSelfAttention(x, NH), (x) => explicitAttention(x, NH).y, [qkv], seed);
        assertGradcheck((x) => F.causalSelfAttention(x, NH), [qkv], { seed });
      }),
      runs(25),
    );
  });

  it('softmax + cross-entropy with ignore index and loss mask (mean over counted targets)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 6 }), fc.boolean(), seedArb, (N, V, useMask, seed) => {
        const rng = new Rng(seed);
        const targets = Array.from({ length: N }, () => (rng.random() < 0.25 ? -7 : rng.int(V)));
        const mask = useMask ? Array.from({ length: N }, () => (rng.random() < 0.3 ? 0 : 1)) : undefined;
        const logits = f64([N, V], rng, 2);
        const fused = (x: Tensor) => F.crossEntropy(x, targets, { ignoreIndex: -7, mask });
        expectSameAsComposition(fused, (x) => crossEntropyComposed(x, targets, -7, mask), [logits], seed);
        assertGradcheck(fused, [logits], { seed });
      }),
      runs(30),
    );
  });

  it('cross-entropy counts only the kept targets in the mean', () => {
    const logits = tensor([[0, 0], [0, 0], [5, -5]], { dtype: 'float64' });
    // rows 0 and 1 have loss ln 2; row 2 is ignored and would add a big loss if counted
    expect(F.crossEntropy(logits, [0, 1, 1], { mask: [1, 1, 0] }).item()).toBeCloseTo(Math.LN2, 12);
    expect(F.crossEntropy(logits, [0, 1, -1]).item()).toBeCloseTo(Math.LN2, 12);
    expect(F.crossEntropy(logits, [-1, -1, -1]).item()).toBe(0);
  });
});
