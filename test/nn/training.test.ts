// End-to-end: small MLPs learn XOR and a sine curve to near-zero loss with AdamW, and a 200-step
// training loop keeps the heap (JS objects + typed-array buffers) flat — with a deliberately leaking
// loop as the control that proves the measurement catches one retained graph per step.
import { describe, expect, it } from 'vitest';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Rng } from '../../src/util/rng.js';
import { Tensor, tensor } from '../../src/tensor/index.js';
import * as F from '../../src/autograd/index.js';
import { AdamW, Linear, Module } from '../../src/nn/index.js';

class MLP extends Module {
  layers: Linear[];
  constructor(sizes: number[], seed: number) {
    super();
    const rng = new Rng(seed);
    this.layers = sizes.slice(1).map((n, i) => new Linear(sizes[i], n, { rng }));
  }
  forward(x: Tensor): Tensor {
    this.layers.forEach((l, i) => (x = i < this.layers.length - 1 ? F.tanh(l.forward(x)) : l.forward(x)));
    return x;
  }
}

function mse(pred: Tensor, target: Tensor): Tensor {
  const d = F.sub(pred, target);
  return F.mean(F.mul(d, d));
}

function trainStep(model: MLP, opt: AdamW, x: Tensor, y: Tensor): number {
  opt.zeroGrad();
  const loss = mse(model.forward(x), y);
  loss.backward();
  opt.clipGradNorm(5);
  opt.step();
  return loss.item();
}

describe('training small MLPs', () => {
  it('learns XOR to near-zero loss', () => {
    const x = tensor([[0, 0], [0, 1], [1, 0], [1, 1]]);
    const y = tensor([[0], [1], [1], [0]]);
    const model = new MLP([2, 8, 1], 7);
    const opt = new AdamW(model.parameters(), { lr: 0.05, weightDecay: 0 });
    let loss = Infinity;
    for (let i = 0; i < 400; i++) loss = trainStep(model, opt, x, y);
    expect(loss).toBeLessThan(1e-4);
    const pred = F.noGrad(() => model.forward(x)).toArray();
    expect(pred.map((v) => (v > 0.5 ? 1 : 0))).toEqual([0, 1, 1, 0]);
  });

  it('fits sin(x) on [-π, π] to near-zero loss', () => {
    const xs = Array.from({ length: 64 }, (_, i) => -Math.PI + (2 * Math.PI * i) / 63);
    const x = tensor(xs, { shape: [64, 1] });
    const y = tensor(xs.map(Math.sin), { shape: [64, 1] });
    const model = new MLP([1, 16, 16, 1], 3);
    const opt = new AdamW(model.parameters(), { lr: 0.01, weightDecay: 0 });
    let loss = Infinity;
    for (let i = 0; i < 1500; i++) loss = trainStep(model, opt, x, y);
    expect(loss).toBeLessThan(1e-3);
  });
});

/** A real gc(): vitest does not pass --expose-gc, so enable it at run time (a V8 flag, no child process). */
function getGc(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

/** Bytes held (JS heap + ArrayBuffer backing stores) after `steps` more steps, minus before, after full GCs. */
function growth(steps: number, step: () => void): { heap: number; rss: number } {
  const gc = getGc();
  const measure = () => {
    gc();
    gc();
    const m = process.memoryUsage();
    return { heap: m.heapUsed + m.arrayBuffers, rss: m.rss };
  };
  for (let i = 0; i < 50; i++) step(); // warm-up: optimizer state, JIT, grad buffers
  const before = measure();
  for (let i = 0; i < steps; i++) step();
  const after = measure();
  return { heap: after.heap - before.heap, rss: after.rss - before.rss };
}

describe('memory stays flat over a 200-step training loop', () => {
  const setup = () => {
    const rng = new Rng(1);
    const x = F.noGrad(() => tensor(Array.from({ length: 64 * 16 }, () => rng.normal()), { shape: [64, 16] }));
    const y = tensor(Array.from({ length: 64 }, () => rng.normal()), { shape: [64, 1] });
    const model = new MLP([16, 64, 64, 1], 5);
    return { x, y, model, opt: new AdamW(model.parameters(), { lr: 1e-3 }) };
  };

  it('heap and RSS do not grow with the number of steps', () => {
    const { x, y, model, opt } = setup();
    const g = growth(150, () => trainStep(model, opt, x, y)); // 50 warm-up + 150 measured = 200 steps
    expect(g.heap).toBeLessThan(512 * 1024);
    expect(g.rss).toBeLessThan(32 * 1024 * 1024);
  });

  it('control: the same measurement flags a loop that keeps each step\'s loss (and so its graph)', () => {
    const { x, y, model, opt } = setup();
    const kept: Tensor[] = [];
    const g = growth(150, () => {
      opt.zeroGrad();
      const loss = mse(model.forward(x), y);
      loss.backward();
      opt.step();
      kept.push(loss);
    });
    expect(g.heap).toBeGreaterThan(512 * 1024);
    expect(kept.length).toBe(200);
  });
});
