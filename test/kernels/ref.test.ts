// The ref tier against central finite differences in float64: every backward kernel (and the matmul
// forms that serve as matmul's backward) must match the numeric gradient of its forward, and must
// accumulate (+=) into its outputs. Also checks that the checker rejects a deliberately wrong backward.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { Rng } from '../../src/util/rng.js';
import { dot, gradError, randomF64, seed, smallDim } from './gradcheck.js';

const RUNS = { numRuns: 40 };

/** Runs a backward kernel into grads prefilled with noise, returns the accumulated part only. */
function accumulated(grads: Float64Array[], rng: Rng, backward: () => void): Float64Array[] {
  const before = grads.map((g) => {
    const noise = randomF64(g.length, rng);
    g.set(noise);
    return noise;
  });
  backward();
  return grads.map((g, i) => g.map((v, j) => v - before[i][j]));
}

/** A random layernorm problem (N,C) with loss = Σ out·w; the forward has run once, so mean and rstd are set. */
function layernormProblem(N: number, C: number, rng: Rng) {
  const inp = randomF64(N * C, rng);
  const weight = randomF64(C, rng);
  const bias = randomF64(C, rng);
  const w = randomF64(N * C, rng);
  const out = new Float64Array(N * C);
  const mean = new Float64Array(N);
  const rstd = new Float64Array(N);
  const loss = () => (ref.layernormForward(out, mean, rstd, inp, weight, bias, N, C, 1e-5), dot(out, w));
  loss();
  return { inp, weight, bias, w, mean, rstd, loss };
}

describe('ref kernels: backward vs. finite differences (float64)', () => {
  it('matmul: dA = dC·Bᵀ (transB form) and dB = Aᵀ·dC (transA form), for every forward form', () => {
    fc.assert(
      fc.property(smallDim, smallDim, smallDim, fc.boolean(), fc.boolean(), seed, (M, K, N, tA, tB, s) => {
        const rng = new Rng(s);
        const a = randomF64(M * K, rng); // (M,K) or stored (K,M)
        const b = randomF64(K * N, rng); // (K,N) or stored (N,K)
        const w = randomF64(M * N, rng); // upstream dC (M,N)
        const c = new Float64Array(M * N);
        const loss = () => (ref.matmul(c, a, b, M, K, N, tA, tB, false), dot(c, w));
        // logical A(M,K), B(K,N) gradients, then laid out like the stored arrays
        const dA = new Float64Array(M * K); // dC(M,N)·Bᵀ(N,K)
        const dB = new Float64Array(K * N); // Aᵀ(K,M)·dC(M,N)
        const [gA, gB] = accumulated([dA, dB], rng, () => {
          const tmpA = new Float64Array(M * K);
          const tmpB = new Float64Array(K * N);
          if (tA) ref.matmul(tmpA, b, w, K, N, M, tB, true, false); // dAᵀ(K,M) = B(K,N)·dCᵀ
          else ref.matmul(tmpA, w, b, M, N, K, false, !tB, false); // dA(M,K) = dC·Bᵀ
          if (tB) ref.matmul(tmpB, w, a, N, M, K, true, tA, false); // dBᵀ(N,K) = dCᵀ·A
          else ref.matmul(tmpB, a, w, K, M, N, !tA, false, false); // dB(K,N) = Aᵀ·dC
          ref.add(dA, dA, tmpA, M * K);
          ref.add(dB, dB, tmpB, K * N);
        });
        expect(gradError(loss, [a, b], [gA, gB])).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('matmul accumulate adds onto c', () => {
    const a = new Float64Array([1, 2, 3, 4]);
    const b = new Float64Array([5, 6, 7, 8]);
    const c = new Float64Array([1, 1, 1, 1]);
    ref.matmul(c, a, b, 2, 2, 2, false, false, true);
    expect([...c]).toEqual([20, 23, 44, 51]);
  });

  it('layernorm', () => {
    fc.assert(
      fc.property(smallDim, smallDim, seed, (N, C, s) => {
        const rng = new Rng(s);
        const { inp, weight, bias, w, mean, rstd, loss } = layernormProblem(N, C, rng);
        const grads = [new Float64Array(N * C), new Float64Array(C), new Float64Array(C)];
        const [dinp, dweight, dbias] = accumulated(grads, rng, () =>
          ref.layernormBackward(grads[0], grads[1], grads[2], w, inp, weight, mean, rstd, N, C),
        );
        expect(gradError(loss, [inp, weight, bias], [dinp, dweight, dbias])).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('attention (causal, llm.c layout)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2),
        fc.constantFrom(1, 2, 3, 5),
        fc.constantFrom(1, 2, 3),
        fc.constantFrom(1, 2, 3),
        seed,
        (B, T, NH, hs, s) => {
          const rng = new Rng(s);
          const C = NH * hs;
          const qkv = randomF64(B * T * 3 * C, rng);
          const w = randomF64(B * T * C, rng);
          const out = new Float64Array(B * T * C);
          const preatt = new Float64Array(B * NH * T * T);
          const att = new Float64Array(B * NH * T * T);
          const loss = () => (ref.attentionForward(out, preatt, att, qkv, B, T, C, NH), dot(out, w));
          loss();
          // scratch prefilled with garbage: the kernel must overwrite it
          const dpreatt = randomF64(B * NH * T * T, rng);
          const datt = randomF64(B * NH * T * T, rng);
          const grads = [new Float64Array(B * T * 3 * C)];
          const [dqkv] = accumulated(grads, rng, () =>
            ref.attentionBackward(grads[0], dpreatt, datt, w, qkv, att, B, T, C, NH),
          );
          expect(gradError(loss, [qkv], [dqkv])).toBeLessThanOrEqual(1);
        },
      ),
      RUNS,
    );
  });

  it('attention rows sum to 1 and are zero above the diagonal', () => {
    const rng = new Rng(7);
    const [B, T, C, NH] = [2, 5, 6, 3];
    const att = new Float64Array(B * NH * T * T);
    ref.attentionForward(new Float64Array(B * T * C), new Float64Array(att.length), att, randomF64(B * T * 3 * C, rng), B, T, C, NH);
    for (let r = 0; r < B * NH * T; r++) {
      const t = r % T;
      let sum = 0;
      for (let t2 = 0; t2 < T; t2++) {
        if (t2 > t) expect(att[r * T + t2]).toBe(0);
        sum += att[r * T + t2];
      }
      expect(sum).toBeCloseTo(1, 12);
    }
  });

  it('gelu', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), seed, (n, s) => {
        const rng = new Rng(s);
        const inp = randomF64(n, rng, 3);
        const w = randomF64(n, rng);
        const out = new Float64Array(n);
        const loss = () => (ref.geluForward(out, inp, n), dot(out, w));
        const grads = [new Float64Array(n)];
        const [dinp] = accumulated(grads, rng, () => ref.geluBackward(grads[0], inp, w, n));
        expect(gradError(loss, [inp], [dinp])).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('softmax + cross-entropy (fused backward, negative targets ignored)', () => {
    fc.assert(
      fc.property(smallDim, smallDim, seed, (N, V, s) => {
        const rng = new Rng(s);
        const logits = randomF64(N * V, rng, 2);
        const targets = Int32Array.from({ length: N }, () => (rng.random() < 0.25 ? -1 : rng.int(V)));
        const dlosses = randomF64(N, rng);
        const probs = new Float64Array(N * V);
        const losses = new Float64Array(N);
        const loss = () => {
          ref.softmaxForward(probs, logits, N, V);
          ref.crossEntropyForward(losses, probs, targets, N, V);
          return dot(losses, dlosses);
        };
        loss();
        for (let i = 0; i < N; i++) if (targets[i] < 0) expect(losses[i]).toBe(0);
        const grads = [new Float64Array(N * V)];
        const [dlogits] = accumulated(grads, rng, () =>
          ref.crossEntropySoftmaxBackward(grads[0], dlosses, probs, targets, N, V),
        );
        expect(gradError(loss, [logits], [dlogits])).toBeLessThanOrEqual(1);
      }),
      RUNS,
    );
  });

  it('softmax may run in place', () => {
    const x = new Float64Array([1, 2, 3, -1, 0, 1]);
    const expected = new Float64Array(6);
    ref.softmaxForward(expected, x, 2, 3);
    ref.softmaxForward(x, x, 2, 3);
    expect([...x]).toEqual([...expected]);
  });

  it('adamw matches the closed form of its first step', () => {
    // step 1: m̂ = g, v̂ = g², so p -= lr·(g/(|g| + eps) + wd·p)
    const p = new Float64Array([1, -2, 0.5]);
    const g = new Float64Array([0.1, -0.3, 0]);
    const m = new Float64Array(3);
    const v = new Float64Array(3);
    const [lr, wd, eps] = [0.01, 0.1, 1e-8];
    const expected = p.map((pi, i) => pi - lr * (g[i] / (Math.abs(g[i]) + eps) + wd * pi));
    ref.adamw(p, g, m, v, 3, lr, 0.9, 0.999, eps, wd, 1);
    for (let i = 0; i < 3; i++) expect(p[i]).toBeCloseTo(expected[i], 12);
    expect(m[1]).toBeCloseTo(0.1 * -0.3, 15);
    expect(v[1]).toBeCloseTo(0.001 * 0.09, 15);
  });
});

describe('the gradient checker', () => {
  it('rejects a wrong backward (layernorm without the mean-of-dnorm term)', () => {
    const [N, C] = [3, 5];
    const { inp, weight, bias, w, mean, rstd, loss } = layernormProblem(N, C, new Rng(3));
    const dinp = new Float64Array(N * C);
    for (let r = 0; r < N; r++) {
      for (let i = 0; i < C; i++) dinp[r * C + i] = weight[i] * w[r * C + i] * rstd[r]; // treats mean/var as constants
    }
    const correct = [new Float64Array(N * C), new Float64Array(C), new Float64Array(C)];
    ref.layernormBackward(correct[0], correct[1], correct[2], w, inp, weight, mean, rstd, N, C);
    expect(gradError(loss, [inp, weight, bias], correct)).toBeLessThanOrEqual(1);
    expect(gradError(loss, [inp, weight, bias], [dinp, correct[1], correct[2]])).toBeGreaterThan(1);
  });

  it('rejects a gelu backward with a slightly wrong constant', () => {
    const rng = new Rng(5);
    const n = 16;
    const inp = randomF64(n, rng, 2);
    const w = randomF64(n, rng);
    const out = new Float64Array(n);
    const loss = () => (ref.geluForward(out, inp, n), dot(out, w));
    const dinp = new Float64Array(n);
    ref.geluBackward(dinp, inp, w, n);
    const wrong = dinp.map((d) => d * 1.001);
    expect(gradError(loss, [inp], [dinp])).toBeLessThanOrEqual(1);
    expect(gradError(loss, [inp], [wrong])).toBeGreaterThan(1);
  });
});
