// Zeroth-order fine-tuning (MeZO): a perturbation regenerated from its seed restores the weights bit for bit,
// one estimate is the directional derivative z·∇L (float64, against backpropagation), their mean points along
// the true gradient, training lowers the loss, LoRA-only ZO moves only adapter bytes, and resume is bit-exact.
import fc from 'fast-check';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { plainF32, plainF64 } from '../../src/models/gpt2/params.js';
import { loadCheckpointWeights } from '../../src/train/checkpoint.js';
import { Finetuner, type FinetuneBatch } from '../../src/finetune/finetuner.js';
import { LORA_SITES, type FinetuneMethod } from '../../src/finetune/method.js';
import { loadFinetuneState, saveFinetuneState } from '../../src/finetune/state.js';
import { ZoPerturbation, zoSeed } from '../../src/finetune/zo.js';
import { tmpDir } from '../train/helpers.js';
import { noisyModel, paddedBatch } from './helpers.js';

const tiny = { nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 40, blockSize: 16 };
const micro = { nLayer: 1, nHead: 2, nEmbd: 8, vocabSize: 16, blockSize: 8 };
const constant = (lr: number, steps = 100) => ({ lr, warmup: 0, steps, finalLrFrac: 1 });
const zo = (eps: number, n: number, lora = false): FinetuneMethod => ({
  kind: 'zo',
  zo: { eps, n, lora: lora ? { r: 2, alpha: 4, dropout: 0, targets: [...LORA_SITES] } : null },
});
const bytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('ZO perturbation', () => {
  it('regenerating z from its seed restores the weights bit for bit (+εz, −2εz, +εz)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.double({ min: 1e-6, max: 0.1, noNaN: true }), fc.boolean(), (seed, eps, f64) => {
        const model = noisyModel(tiny, seed % 1000, f64 ? plainF64 : plainF32);
        const w = model.params.data;
        const p = new ZoPerturbation(w, model.params.table);
        p.grid(eps);
        const snapped = w.slice();
        p.grid(eps); // already on the grid: unchanged
        expect(bytes(w).equals(bytes(snapped))).toBe(true);
        p.perturb(seed, eps, 1);
        const plus = w.slice();
        let moved = 0;
        for (let i = 0; i < w.length; i++) if (w[i] !== snapped[i]) moved++;
        expect(moved).toBeGreaterThan(w.length * 0.9);
        p.perturb(seed, eps, -2);
        p.perturb(seed, eps, 1);
        expect(bytes(w).equals(bytes(snapped))).toBe(true);
        p.perturb(seed, eps, 1); // the same seed gives the same perturbation
        expect(bytes(w).equals(bytes(plus))).toBe(true);
      }),
      { numRuns: 20, seed: 41 },
    );
  });
});

describe('ZO directions', () => {
  it('z is standard normal: mean 0, variance 1, kurtosis 3, and one seed gives one z', () => {
    const n = 200_000;
    const z = new Float64Array(n);
    const p = new ZoPerturbation(z, [{ name: 'z', shape: [n], offset: 0, size: n }]);
    p.update(7, 1);
    const m = z.reduce((a, x) => a + x, 0) / n;
    const v = z.reduce((a, x) => a + (x - m) ** 2, 0) / n;
    const k = z.reduce((a, x) => a + (x - m) ** 4, 0) / n / (v * v);
    expect(Math.abs(m)).toBeLessThan(0.01);
    expect(Math.abs(v - 1)).toBeLessThan(0.01);
    expect(Math.abs(k - 3)).toBeLessThan(0.05);
    const again = new Float64Array(n);
    new ZoPerturbation(again, [{ name: 'z', shape: [n], offset: 0, size: n }]).update(7, 1);
    expect(bytes(again).equals(bytes(z))).toBe(true);
    const other = new Float64Array(n);
    new ZoPerturbation(other, [{ name: 'z', shape: [n], offset: 0, size: n }]).update(zoSeed(7, 0, 1), 1);
    expect(other.reduce((a, x, i) => a + x * z[i], 0) / n).toBeLessThan(0.02); // another seed: uncorrelated
  });
});

/** The trainable weights' gradient by backpropagation (float64), and the ZO step's change Δθ = −lr·(1/n)·Σ g_k·z_k. */
function zoAgainstBackprop(seed: number, n: number, eps: number) {
  const batch = paddedBatch(micro.vocabSize, 3, 6, seed + 1, 3);
  const model = noisyModel(micro, seed);
  model.forward(batch.inputs, batch.targets, batch.B, batch.T);
  model.backward();
  const grad = Float64Array.from(model.grads!.data);
  const before = Float64Array.from(model.params.data);
  const ft = new Finetuner(model, { method: zo(eps, n), schedule: constant(1), gradClip: 0, seed });
  ft.trainStep(batch);
  const delta = Float64Array.from(model.params.data, (x, i) => x - before[i]);
  return { grad, delta };
}

const dot = (a: Float64Array, b: Float64Array) => a.reduce((s, x, i) => s + x * b[i], 0);

describe('ZO gradient estimate (float64 ref kernels, against backpropagation)', () => {
  it('one perturbation measures the directional derivative z·∇L', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const { grad, delta } = zoAgainstBackprop(seed, 1, 1e-5);
        // regenerate z from its seed
        const z = new Float64Array(delta.length);
        new ZoPerturbation(z, [{ name: 'all', shape: [z.length], offset: 0, size: z.length }]).update(zoSeed(seed, 0, 0), 1);
        const g = -dot(delta, z) / dot(z, z); // Δθ = −g·z
        const want = dot(z, grad);
        expect(Math.abs(g - want)).toBeLessThan(1e-5 * (1 + Math.abs(want)));
        // and the step is exactly along z
        let off = 0;
        for (let i = 0; i < z.length; i++) off = Math.max(off, Math.abs(delta[i] + g * z[i]));
        expect(off).toBeLessThan(1e-12);
      }),
      { numRuns: 8, seed: 42 },
    );
  });

  it('averaged over many seeds it points along the true gradient', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), (seed) => {
        const { grad, delta } = zoAgainstBackprop(seed, 400, 1e-4);
        const cos = -dot(delta, grad) / Math.sqrt(dot(delta, delta) * dot(grad, grad));
        // E[z zᵀ] = I: the mean of 400 estimates over ~1.1k parameters has cosine ≈ √(400/1500) ≈ 0.5
        expect(cos).toBeGreaterThan(0.3);
      }),
      { numRuns: 3, seed: 43 },
    );
  });
});

const batches: FinetuneBatch[] = [paddedBatch(tiny.vocabSize, 4, 12, 1, 3), paddedBatch(tiny.vocabSize, 4, 12, 2, 3)];
const meanLoss = (ft: Finetuner) => ft.evaluate(batches).loss;

describe('ZO training', () => {
  for (const [name, method, lr] of [
    ['all weights', zo(1e-3, 4), 5e-4],
    ['LoRA only', zo(1e-3, 4, true), 1e-2],
  ] as const) {
    it(`${name}: the loss falls`, () => {
      const ft = new Finetuner(noisyModel(tiny, 5, plainF32), { method, schedule: constant(lr), gradClip: 0, seed: 9 });
      const first = meanLoss(ft);
      for (let i = 0; i < 20; i++) ft.trainStep(batches);
      expect(meanLoss(ft)).toBeLessThan(first - 0.05);
    });
  }

  it('LoRA-only ZO changes adapter bytes only, and keeps no gradients or moments', () => {
    const model = noisyModel(tiny, 6, plainF32);
    const base = Float32Array.from(model.params.data);
    const ft = new Finetuner(model, { method: zo(1e-3, 2, true), schedule: constant(1e-3), gradClip: 0 });
    const adapters = Float32Array.from(ft.lora!.params);
    for (let i = 0; i < 3; i++) ft.trainStep(batches[i % 2]);
    expect(bytes(model.params.data as Float32Array).equals(bytes(base))).toBe(true);
    expect(bytes(ft.lora!.params as Float32Array).equals(bytes(adapters))).toBe(false);
    expect(ft.optimizer).toBeNull();
    expect(ft.grads).toBeNull();
    expect(model.grads).toBeNull();
    expect(ft.lora!.grads).toBeNull();
  });

  for (const lora of [false, true]) {
    it(`${lora ? 'LoRA-only ' : ''}ZO resumes bit-exactly from its state file`, () => {
      const make = () => new Finetuner(noisyModel(tiny, 8, plainF32), { method: zo(1e-3, 2, lora), schedule: { lr: lora ? 1e-2 : 1e-3, warmup: 1, steps: 6, finalLrFrac: 0.1 }, gradClip: 5, seed: 3 });
      const run = (ft: Finetuner, n: number) => {
        for (let i = 0; i < n; i++) ft.trainStep(batches[ft.step % 2]);
      };
      const straight = make();
      run(straight, 6);
      const first = make();
      run(first, 3);
      const file = path.join(tmpDir('zo-state'), `zo-${lora}.ckpt`);
      saveFinetuneState(file, first);
      const resumed = make();
      loadFinetuneState(file, resumed);
      run(resumed, 3);
      expect(bytes(resumed.trainParams as Float32Array).equals(bytes(straight.trainParams as Float32Array))).toBe(true);
      expect(bytes(resumed.model.params.data as Float32Array).equals(bytes(straight.model.params.data as Float32Array))).toBe(true);
      // weights-only loading (eval, generate, convert) sees the fine-tuned model: a ZO adapter is merged on load
      const { model } = loadCheckpointWeights(file, { alloc: plainF32, kernels: ref });
      const b = batches[0];
      const tuned = first.model.forward(b.inputs, b.targets, b.B, b.T);
      expect(Math.abs(model.forward(b.inputs, b.targets, b.B, b.T) - tuned)).toBeLessThan(1e-6);
      const untrained = make().model;
      expect(Math.abs(untrained.forward(b.inputs, b.targets, b.B, b.T) - tuned)).toBeGreaterThan(1e-4); // training mattered
    });
  }
});
