// Fixtures for the fine-tuning tests: tiny float64 models with weights large enough that every path
// carries signal, padded batches with a masked prompt and a short answer, and the float64 finite-difference check.
import fc from 'fast-check';
import { ref } from '../../src/kernels/index.js';
import type { FloatArray, Kernels } from '../../src/kernels/types.js';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF64, type Allocator } from '../../src/models/gpt2/params.js';
import type { FinetuneBatch } from '../../src/finetune/finetuner.js';
import type { LoraAdapters } from '../../src/finetune/lora.js';
import { Rng } from '../../src/util/rng.js';
import { gradError } from '../kernels/gradcheck.js';

/** Random tiny model shapes and batch sizes for the property-based gradient checks. */
export const modelShapes = fc.record({
  nLayer: fc.integer({ min: 1, max: 3 }),
  nHead: fc.integer({ min: 1, max: 2 }),
  hs: fc.integer({ min: 1, max: 3 }),
  V: fc.integer({ min: 3, max: 11 }),
  B: fc.integer({ min: 1, max: 3 }),
  T: fc.integer({ min: 1, max: 5 }),
  seed: fc.integer({ min: 0, max: 1e6 }),
}).map(({ nLayer, nHead, hs, V, B, T, seed }) => ({ config: { nLayer, nHead, nEmbd: nHead * hs, vocabSize: V, blockSize: T + 1 }, V, B, T, seed }));

export function noisyModel(config: GPT2Config, seed: number, alloc: Allocator = plainF64, kernels: Kernels = ref): GPT2 {
  const model = new GPT2(config, { kernels, alloc, seed });
  const rng = new Rng(seed + 1);
  const w = model.params.data;
  for (let i = 0; i < w.length; i++) w[i] += rng.normal(0, 0.3);
  return model;
}

/** B rows of T tokens: each row has a random length; targets only on its last `answer` tokens, −1 on the prompt and the padding. */
export function paddedBatch(V: number, B: number, T: number, seed: number, answer = 2): FinetuneBatch {
  const rng = new Rng(seed);
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  for (let b = 0; b < B; b++) {
    const len = 1 + rng.int(T); // tokens before the padding
    for (let t = 0; t < T; t++) inputs[b * T + t] = t < len ? rng.int(V) : 0;
    for (let t = Math.max(0, len - answer); t < len; t++) targets[b * T + t] = rng.int(V);
  }
  return { inputs, targets, B, T };
}

/** Asserts that analytic matches central differences of loss() in every element of x (test/kernels/gradcheck.ts). */
export function expectGrads(label: string, x: FloatArray, analytic: FloatArray, loss: () => number): void {
  const err = gradError(loss, [x as Float64Array], [analytic as Float64Array]);
  if (!(err <= 1)) throw new Error(`${label}: gradient error ${err} (> 1 = analytic and numeric differ)`);
}

/** Random adapter weights (B ≠ 0, so A gets a gradient), then every adapter gradient against finite differences of the loss on `batch`. */
export function expectAdapterGrads(model: GPT2, lora: LoraAdapters, batch: FinetuneBatch, rng: Rng): void {
  for (let i = 0; i < lora.params.length; i++) lora.params[i] = rng.normal(0, 0.5);
  const { B, T } = batch;
  lora.grads!.fill(0);
  model.forward(batch.inputs, batch.targets, B, T);
  model.backward();
  const loss = () => model.forward(batch.inputs, batch.targets, B, T);
  for (const e of lora.table) expectGrads(e.name, lora.get(e.name), lora.grads!.subarray(e.offset, e.offset + e.size), loss);
}
