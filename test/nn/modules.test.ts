// nn: Module discovery and state dicts, the layers, AdamW against a plain-loop reference, clipping.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import { UserError } from '../../src/util/errors.js';
import { Tensor, ones, randn, tensor, zeros } from '../../src/tensor/index.js';
import { AdamW, Dropout, Embedding, LayerNorm, Linear, Module, clipGradNorm, gradNorm } from '../../src/nn/index.js';

class Block extends Module {
  ln = new LayerNorm(4);
  fc = new Linear(4, 8, { rng: new Rng(1) });
  drop = new Dropout(0.5, { seed: 3 });
  forward(x: Tensor): Tensor {
    return this.drop.forward(this.fc.forward(this.ln.forward(x)));
  }
}

class Tiny extends Module {
  wte = new Embedding(10, 4, { rng: new Rng(2) });
  h = [new Block(), new Block()];
  head = new Linear(4, 10, { bias: false, rng: new Rng(5) });
  constructor() {
    super();
    this.head.weight = this.wte.weight; // weight tying, as GPT-2
  }
}

describe('Module', () => {
  it('names parameters with dots, children in order, tied weights once', () => {
    const m = new Tiny();
    const names = m.namedParameters().map(([n]) => n);
    expect(names).toEqual([
      'wte.weight',
      'h.0.ln.weight', 'h.0.ln.bias', 'h.0.fc.weight', 'h.0.fc.bias',
      'h.1.ln.weight', 'h.1.ln.bias', 'h.1.fc.weight', 'h.1.fc.bias',
    ]);
    expect(Object.keys(m.stateDict())).toContain('head.weight');
    expect(m.numParameters()).toBe(40 + 2 * (4 + 4 + 32 + 8));
  });

  it('train/eval reach every child; dropout is identity in eval', () => {
    const m = new Tiny();
    m.eval();
    expect(m.h.every((b) => !b.training && !b.drop.training)).toBe(true);
    const x = randn([3, 4]);
    expect(m.h[0].drop.forward(x)).toBe(x);
    m.train();
    expect(m.h[1].drop.training).toBe(true);
  });

  it('stateDict round-trips into a fresh model; shape and key mismatches are UserErrors naming the key', () => {
    const a = new Tiny();
    for (const p of a.parameters()) p.data.fill(Math.random());
    const b = new Tiny();
    b.loadStateDict(a.stateDict());
    for (const [n, p] of b.namedParameters()) expect(p.toArray()).toEqual(a.stateDict()[n].toArray());
    const bad = { ...a.stateDict(), 'h.0.fc.weight': zeros([8, 5]) };
    expect(() => b.loadStateDict(bad)).toThrow(UserError);
    expect(() => b.loadStateDict(bad)).toThrow(/'h\.0\.fc\.weight' has shape \(8,5\) in the state dict but \(8,4\)/);
    const { ['h.1.ln.bias']: _dropped, ...partial } = a.stateDict();
    expect(() => b.loadStateDict({ ...partial, extra: zeros([1]) })).toThrow(/missing keys \[h\.1\.ln\.bias\]; unexpected keys \[extra\]/);
    expect(() => b.loadStateDict(partial, { strict: false })).not.toThrow();
  });
});

describe('layers', () => {
  it('shapes: Linear (...,in)->(...,out), Embedding ids->(...,dim), LayerNorm normalises rows', () => {
    expect(new Linear(3, 5).forward(zeros([2, 7, 3])).shape).toEqual([2, 7, 5]);
    expect(new Embedding(6, 4).forward([1, 2, 3, 4, 5, 0], [2, 3]).shape).toEqual([2, 3, 4]);
    const y = new LayerNorm(8).forward(randn([5, 8], { rng: new Rng(9), mean: 3, std: 2 }));
    const rows = y.tolist() as number[][];
    for (const r of rows) {
      const mean = r.reduce((s, v) => s + v, 0) / r.length;
      const variance = r.reduce((s, v) => s + (v - mean) ** 2, 0) / r.length;
      expect(Math.abs(mean)).toBeLessThan(1e-5);
      expect(variance).toBeCloseTo(1, 3);
    }
  });

  it('Dropout is seeded, zeroes about p of the values and keeps the expectation', () => {
    const x = ones([20000]);
    const a = new Dropout(0.3, { seed: 42 }).forward(x).toArray();
    expect(new Dropout(0.3, { seed: 42 }).forward(x).toArray()).toEqual(a);
    expect(new Dropout(0.3, { seed: 43 }).forward(x).toArray()).not.toEqual(a);
    const zerosFrac = a.filter((v) => v === 0).length / a.length;
    expect(zerosFrac).toBeGreaterThan(0.28);
    expect(zerosFrac).toBeLessThan(0.32);
    expect(a.reduce((s, v) => s + v, 0) / a.length).toBeCloseTo(1, 1);
  });
});

/** Plain-loop AdamW (PyTorch's formulation) for one parameter. */
function referenceAdamW(p: number[], grads: number[][], lr: number, b1: number, b2: number, eps: number, wd: number): number[] {
  const m = p.map(() => 0);
  const v = p.map(() => 0);
  grads.forEach((g, t) => {
    for (let i = 0; i < p.length; i++) {
      p[i] *= 1 - lr * wd;
      m[i] = b1 * m[i] + (1 - b1) * g[i];
      v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
      const mh = m[i] / (1 - b1 ** (t + 1));
      const vh = v[i] / (1 - b2 ** (t + 1));
      p[i] -= (lr * mh) / (Math.sqrt(vh) + eps);
    }
  });
  return p;
}

describe('AdamW', () => {
  it('matches a plain-loop reference, with per-group weight decay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e6 }), (n, steps, seed) => {
        const rng = new Rng(seed);
        const decayed = randn([n], { rng, dtype: 'float64', requiresGrad: true });
        const plain = randn([n], { rng, dtype: 'float64', requiresGrad: true });
        const grads = Array.from({ length: steps }, () => [randn([n], { rng }).toArray(), randn([n], { rng }).toArray()]);
        const want0 = referenceAdamW(decayed.toArray(), grads.map((g) => g[0]), 0.01, 0.9, 0.95, 1e-8, 0.1);
        const want1 = referenceAdamW(plain.toArray(), grads.map((g) => g[1]), 0.01, 0.9, 0.95, 1e-8, 0);
        const opt = new AdamW([{ params: [decayed] }, { params: [plain], weightDecay: 0 }], { lr: 0.01, betas: [0.9, 0.95], weightDecay: 0.1 });
        for (const [g0, g1] of grads) {
          decayed.grad = tensor(g0, { dtype: 'float64' });
          plain.grad = tensor(g1, { dtype: 'float64' });
          opt.step();
        }
        decayed.toArray().forEach((v, i) => expect(v).toBeCloseTo(want0[i], 12));
        plain.toArray().forEach((v, i) => expect(v).toBeCloseTo(want1[i], 12));
      }),
      { numRuns: 30 },
    );
  });

  it('skips parameters without gradients and zeroGrad keeps the buffers', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = tensor([3], { requiresGrad: true });
    const opt = new AdamW([a, b], { lr: 0.1 });
    a.grad = tensor([1, 1]);
    opt.step();
    expect(b.toArray()).toEqual([3]);
    expect(a.toArray()[0]).toBeLessThan(1);
    const buf = a.grad.data;
    opt.zeroGrad();
    expect(a.grad!.data).toBe(buf);
    expect(a.grad!.toArray()).toEqual([0, 0]);
  });

  it('stateDict/loadStateDict resume exactly where a run left off', () => {
    const make = () => [randn([3], { rng: new Rng(1), requiresGrad: true }), randn([2], { rng: new Rng(2), requiresGrad: true })];
    const grads = (k: number) => [tensor([k, -k, 2 * k]), tensor([1 / k, k])];
    const straight = make();
    const optA = new AdamW(straight, { lr: 0.05 });
    for (let k = 1; k <= 6; k++) {
      straight.forEach((p, i) => (p.grad = grads(k)[i]));
      optA.step();
    }
    const resumed = make();
    const optB = new AdamW(resumed, { lr: 0.05 });
    for (let k = 1; k <= 3; k++) {
      resumed.forEach((p, i) => (p.grad = grads(k)[i]));
      optB.step();
    }
    const optC = new AdamW(resumed, { lr: 0.05 });
    optC.loadStateDict(optB.stateDict());
    for (let k = 4; k <= 6; k++) {
      resumed.forEach((p, i) => (p.grad = grads(k)[i]));
      optC.step();
    }
    resumed.forEach((p, i) => expect(p.toArray()).toEqual(straight[i].toArray()));
    expect(() => new AdamW([resumed[0]]).loadStateDict(optB.stateDict())).toThrow(UserError);
  });

  it('clipGradNorm scales all gradients to the global max norm and reports the norm before', () => {
    const a = tensor([0], { requiresGrad: true });
    const b = tensor([0, 0], { requiresGrad: true });
    a.grad = tensor([3]);
    b.grad = tensor([0, 4]);
    expect(clipGradNorm([a, b], 1)).toBeCloseTo(5, 6);
    expect(gradNorm([a, b])).toBeCloseTo(1, 5);
    expect(b.grad.toArray()[1] / a.grad.toArray()[0]).toBeCloseTo(4 / 3, 5);
    expect(clipGradNorm([a, b], 10)).toBeCloseTo(1, 5); // below the limit: untouched
    expect(gradNorm([a, b])).toBeCloseTo(1, 5);
  });
});
