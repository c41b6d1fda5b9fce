// Fine-tuning behaviour: a fresh LoRA adapter (B = 0) leaves the model's function unchanged, merged equals
// unmerged, frozen parameters keep their bytes while training, frozen tensors get no optimizer state, splitting
// a batch into passes gives the same step, and a fine-tune resumed from its state file is bit-exact.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { Finetuner, type FinetuneBatch } from '../../src/finetune/finetuner.js';
import { LoraAdapters } from '../../src/finetune/lora.js';
import { mergeLora } from '../../src/finetune/merge.js';
import { LORA_SITES, type FinetuneMethod } from '../../src/finetune/method.js';
import { loadFinetuneState, saveFinetuneState } from '../../src/finetune/state.js';
import { loadCheckpointWeights, readCheckpointHeader, saveCheckpoint } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../train/helpers.js';
import { noisyModel, paddedBatch } from './helpers.js';

const tiny = { nLayer: 3, nHead: 2, nEmbd: 16, vocabSize: 40, blockSize: 16 };
const schedule = { lr: 3e-3, warmup: 2, steps: 20, finalLrFrac: 0.1 };
const lora = (dropout = 0.1): FinetuneMethod => ({ kind: 'lora', lora: { r: 4, alpha: 16, dropout, targets: [...LORA_SITES] } });
const METHODS: [string, FinetuneMethod][] = [
  ['full', { kind: 'full' }],
  ['top-2', { kind: 'top', layers: 2 }],
  ['lora', lora()],
];

const f32Model = (seed: number) => noisyModel(tiny, seed, plainF32);
const bytes = (a: Float32Array | Float64Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('LoRA function', () => {
  it('a fresh adapter (B = 0) leaves losses and logits bit-identical', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 1, max: 8 }), fc.subarray([...LORA_SITES], { minLength: 1 }), (seed, r, targets) => {
        const model = f32Model(seed);
        const b = paddedBatch(tiny.vocabSize, 2, 8, seed);
        const base = model.forward(b.inputs, b.targets, 2, 8);
        model.forward(b.inputs, null, 2, 8);
        const logits = Float32Array.from(model.logits().subarray(0, 16 * tiny.vocabSize));
        const adapters = new LoraAdapters(tiny, { r, alpha: 3 * r, dropout: 0, targets }, plainF32, seed);
        expect(adapters.get(`h.0.${targets[0]}.lora_A`).some((x) => x !== 0)).toBe(true);
        adapters.attach(model);
        expect(model.forward(b.inputs, b.targets, 2, 8)).toBe(base);
        model.forward(b.inputs, null, 2, 8);
        expect(bytes(model.logits().subarray(0, 16 * tiny.vocabSize)).equals(bytes(logits))).toBe(true);
      }),
      { numRuns: 10, seed: 21 },
    );
  });

  it('merged weights give the adapted model (float32 tolerance)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.subarray([...LORA_SITES], { minLength: 1 }), (seed, targets) => {
        const model = f32Model(seed);
        const adapters = new LoraAdapters(tiny, { r: 3, alpha: 7, dropout: 0.2, targets }, plainF32, seed);
        const rng = new Rng(seed);
        for (let i = 0; i < adapters.params.length; i++) adapters.params[i] = rng.normal(0, 0.3);
        adapters.attach(model);
        const b = paddedBatch(tiny.vocabSize, 2, 8, seed);
        model.forward(b.inputs, null, 2, 8);
        const adapted = Float32Array.from(model.logits().subarray(0, 16 * tiny.vocabSize));
        model.hook = null;
        model.forward(b.inputs, null, 2, 8);
        const baseLogits = Float32Array.from(model.logits().subarray(0, 16 * tiny.vocabSize));
        mergeLora((n) => model.params.get(n), adapters);
        model.forward(b.inputs, null, 2, 8);
        const merged = model.logits();
        let diff = 0;
        let change = 0;
        for (let i = 0; i < adapted.length; i++) {
          diff = Math.max(diff, Math.abs(merged[i] - adapted[i]) / (1 + Math.abs(adapted[i])));
          change = Math.max(change, Math.abs(baseLogits[i] - adapted[i]));
        }
        expect(change).toBeGreaterThan(1e-2); // the adapter matters
        expect(diff).toBeLessThan(2e-5);
      }),
      { numRuns: 10, seed: 22 },
    );
  });
});

/** n steps on a fixed set of batches. */
function train(ft: Finetuner, batches: FinetuneBatch[], n: number): number[] {
  const losses: number[] = [];
  for (let i = 0; i < n; i++) losses.push(ft.trainStep(batches[ft.step % batches.length]).loss);
  return losses;
}

const batches = [paddedBatch(tiny.vocabSize, 4, 12, 1, 3), paddedBatch(tiny.vocabSize, 4, 12, 2, 3), paddedBatch(tiny.vocabSize, 3, 7, 3, 3)];

describe('training the trainable set', () => {
  for (const [name, method] of METHODS) {
    it(`${name}: loss falls, frozen parameters keep their bytes, moments only for the trainable set`, () => {
      const model = f32Model(5);
      const before = Float32Array.from(model.params.data);
      const ft = new Finetuner(model, { method, schedule, gradClip: 1 });
      const losses = train(ft, batches, 12);
      expect(losses[11]).toBeLessThan(losses[0]);
      const trained = new Set(method.kind === 'lora' ? [] : ft.trainable.map((e) => e.name));
      let moved = 0;
      for (const e of model.params.table) {
        const same = bytes(model.params.get(e.name) as Float32Array).equals(bytes(before.subarray(e.offset, e.offset + e.size)));
        if (!trained.has(e.name)) expect(same, `${e.name} is frozen`).toBe(true);
        else if (!same) moved++;
      }
      expect(moved).toBe(trained.size);
      const size = method.kind === 'full' ? model.params.size : method.kind === 'lora' ? ft.lora!.size : ft.trainable.reduce((n, e) => n + e.size, 0);
      expect(ft.optimizer!.m.length).toBe(size);
      expect(ft.optimizer!.v.length).toBe(size);
      expect(ft.grads!.length).toBe(size);
    });
  }

  it('splitting batches into passes (maxTokensPerPass) and recomputing blocks give the same step (float64)', () => {
    for (const [, method] of METHODS) {
      const run = (maxTokensPerPass?: number, recompute?: boolean) => {
        const model = noisyModel(tiny, 6);
        const ft = new Finetuner(model, { method: method.kind === 'lora' ? lora(0) : method, schedule, gradClip: 1, maxTokensPerPass, recompute });
        train(ft, batches, 3);
        return Float64Array.from(ft.trainParams);
      };
      const whole = run();
      for (const split of [run(12), run(24, true)]) {
        let diff = 0;
        for (let i = 0; i < whole.length; i++) diff = Math.max(diff, Math.abs(whole[i] - split[i]));
        expect(diff).toBeLessThan(1e-9);
      }
    }
  });

  it('--dropout acts in training passes only: evaluation sees the whole model, steps are reproducible from the seed', () => {
    const b = batches[0];
    const run = (dropout: number, seed = 1) => {
      const model = f32Model(8);
      const ft = new Finetuner(model, { method: { kind: 'full' }, schedule, gradClip: 1, dropout, seed });
      const before = ft.evaluate([b]).loss;
      const loss = ft.trainStep(b).loss;
      expect(model.dropout).toBeNull();
      return { before, loss, after: ft.evaluate([b]).loss, params: Float32Array.from(model.params.data) };
    };
    const [off, on, again, other] = [run(0), run(0.3), run(0.3), run(0.3, 2)];
    expect(on.before).toBe(off.before); // validation: no masks
    expect(on.loss).not.toBe(off.loss); // training: masked
    expect(bytes(again.params).equals(bytes(on.params))).toBe(true);
    expect(other.loss).not.toBe(on.loss);
    expect(on.after).not.toBe(off.after);
    expect(() => new Finetuner(f32Model(8), { method: { kind: 'zo', zo: { eps: 1e-3, n: 1, lora: null } }, schedule, gradClip: 0, dropout: 0.1 })).toThrow(/--dropout needs backpropagation/);
    expect(() => new Finetuner(f32Model(8), { method: { kind: 'full' }, schedule, gradClip: 0, dropout: 1 })).toThrow(/dropout must be in \[0, 1\)/);
  });

  it('a step with no counted target changes nothing', () => {
    const model = f32Model(7);
    const ft = new Finetuner(model, { method: { kind: 'full' }, schedule, gradClip: 1 });
    const before = Float32Array.from(model.params.data);
    const b = paddedBatch(tiny.vocabSize, 2, 5, 1);
    b.targets.fill(-1);
    expect(ft.trainStep(b).loss).toBeNaN();
    expect(bytes(model.params.data as Float32Array).equals(bytes(before))).toBe(true);
  });
});

describe('fine-tune state', () => {
  const dir = tmpDir('finetune-state');
  for (const [name, method] of METHODS) {
    it(`${name}: resuming from the state file continues bit-exactly`, () => {
      const make = () => new Finetuner(f32Model(8), { method, schedule, gradClip: 1, seed: 3 });
      const straight = make();
      train(straight, batches, 6);
      const first = make();
      train(first, batches, 3);
      const file = path.join(dir, `${name}.ckpt`);
      saveFinetuneState(file, first, { run: { note: 'test' } });
      expect(readCheckpointHeader(file).finetune?.method).toEqual(method);
      const resumed = make();
      const h = loadFinetuneState(file, resumed);
      expect(h.run).toEqual({ note: 'test' });
      expect(resumed.step).toBe(3);
      train(resumed, batches, 3);
      expect(bytes(resumed.model.params.data as Float32Array).equals(bytes(straight.model.params.data as Float32Array))).toBe(true);
      expect(bytes(resumed.trainParams as Float32Array).equals(bytes(straight.trainParams as Float32Array))).toBe(true);
      expect(bytes(resumed.optimizer!.v as Float32Array).equals(bytes(straight.optimizer!.v as Float32Array))).toBe(true);
      // weights-only loading (eval, export) sees the fine-tuned model: LoRA merged
      const { model } = loadCheckpointWeights(file, { alloc: plainF32, kernels: ref });
      const b = batches[0];
      const want = first.model.forward(b.inputs, b.targets, b.B, b.T);
      expect(Math.abs(model.forward(b.inputs, b.targets, b.B, b.T) - want)).toBeLessThan(1e-5);
    });
  }

  it('refuses a state saved with another method, naming both', () => {
    const ft = new Finetuner(f32Model(8), { method: { kind: 'top', layers: 1 }, schedule, gradClip: 1 });
    const file = path.join(dir, 'top1.ckpt');
    saveFinetuneState(file, ft);
    const other = new Finetuner(f32Model(8), { method: { kind: 'top', layers: 2 }, schedule, gradClip: 1 });
    expect(() => loadFinetuneState(file, other)).toThrow(/fine-tuned with top 1 blocks, not top 2 blocks/);
    // fine-tune files are format version 2 (older readers refuse them instead of reading LoRA runs as the base); pre-training stays 1
    expect(fs.readFileSync(file).readUInt32LE(8)).toBe(2);
    const plain = path.join(dir, 'plain.ckpt');
    saveCheckpoint(plain, { model: ft.model, step: 0 });
    expect(fs.readFileSync(plain).readUInt32LE(8)).toBe(1);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('GPT2 unaffected outside fine-tuning', () => {
  it('detach() gives the plain model back (all gradients, no hook)', () => {
    const model = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 1 });
    const ft = new Finetuner(model, { method: lora(), schedule, gradClip: 1 });
    ft.detach();
    const b = batches[0];
    model.forward(b.inputs, b.targets, b.B, b.T);
    model.backward();
    expect(model.grads!.tensors.wte.some((x) => x !== 0)).toBe(true);
    expect(model.hook).toBeNull();
  });
});

describe('finetuneMemoryBytes', () => {
  it('matches what a Finetuner allocates in the arena for each method', async () => {
    const { sharedArena } = await import('../../src/tensor/arena.js');
    const { finetuneMemoryBytes } = await import('../../src/finetune/memory.js');
    const config = { nLayer: 3, nHead: 2, nEmbd: 32, vocabSize: 100, blockSize: 64 };
    for (const [, method] of METHODS) {
      for (const shape of [{ B: 4, T: 32, countedRows: 4 }, { B: 4, T: 48, countedRows: 5, maxTokensPerPass: 48, recompute: true }]) {
        const arena = sharedArena();
        const mark = arena.mark();
        const model = new GPT2(config, { kernels: ref, seed: 1 });
        const ft = new Finetuner(model, { method, schedule, gradClip: 1, ...shape });
        ft.reserve(shape.B, shape.T, shape.countedRows);
        const b = paddedBatch(config.vocabSize, shape.B, shape.T, 1, 1);
        ft.trainStep(b);
        const used = arena.mark() - mark;
        arena.release(mark);
        const est = finetuneMemoryBytes(config, method, shape);
        expect(used, `${method.kind} ${JSON.stringify(shape)}`).toBeGreaterThanOrEqual(est);
        expect(used).toBeLessThan(est * 1.02 + 64 * 64); // 64-byte alignment per buffer
      }
    }
  });
});

describe('trainableCount', () => {
  it('equals the size of the trainable set listed tensor by tensor (LoRA table, top blocks + ln_f), in closed form', async () => {
    const { trainableCount } = await import('../../src/finetune/memory.js');
    const { loraTable } = await import('../../src/finetune/lora.js');
    const { paramSpecs } = await import('../../src/models/gpt2/config.js');
    const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.constantFrom(...LORA_SITES), { minLength: 1, maxLength: 5 }), fc.integer({ min: 1, max: 6 }), (nLayer, nHead, perHead, r, targets, top) => {
        const config = { nLayer, nHead, nEmbd: nHead * perHead, vocabSize: 7, blockSize: 5 };
        const lora: FinetuneMethod = { kind: 'lora', lora: { r, alpha: 2, dropout: 0, targets } };
        expect(trainableCount(config, lora)).toBe(loraTable(config, { r, alpha: 2, dropout: 0, targets }).reduce((n, e) => n + e.size, 0));
        const layers = Math.min(top, nLayer);
        const inTop = (name: string) => name.startsWith('ln_f.') || Number(/^h\.(\d+)\./.exec(name)?.[1] ?? -1) >= nLayer - layers;
        expect(trainableCount(config, { kind: 'top', layers })).toBe(paramSpecs(config).filter((p) => inTop(p.name)).reduce((n, p) => n + size(p.shape), 0));
        expect(trainableCount(config, { kind: 'full' })).toBe(paramSpecs(config).reduce((n, p) => n + size(p.shape), 0));
      }),
      { numRuns: 200 },
    );
  });
});

describe('GPT2.linear', () => {
  it('applies the LoRA hook for decoders: equals linearForward plus the adapter', () => {
    const model = f32Model(9);
    const adapters = new LoraAdapters(tiny, { r: 2, alpha: 4, dropout: 0, targets: ['mlp.c_fc'] }, plainF32, 1);
    adapters.params.fill(0.25);
    adapters.attach(model);
    const N = 3;
    const C = tiny.nEmbd;
    const inp = Float32Array.from({ length: N * C }, (_, i) => Math.sin(i));
    const hooked = new Float32Array(N * 4 * C);
    model.linear(1, 'mlp.c_fc', hooked, inp, N, C, 4 * C);
    const plain = new Float32Array(N * 4 * C);
    model.hook = null;
    model.linear(1, 'mlp.c_fc', plain, inp, N, C, 4 * C);
    // adapter: (α/r)·B·A·x with every A, B entry 0.25 -> 2 · (2 · 0.25·0.25) · Σx per output
    for (let n = 0; n < N; n++) {
      let sx = 0;
      for (let i = 0; i < C; i++) sx += inp[n * C + i];
      for (let o = 0; o < 4 * C; o++) expect(hooked[n * 4 * C + o] - plain[n * 4 * C + o]).toBeCloseTo(2 * 2 * 0.0625 * sx, 4);
    }
  });
});
