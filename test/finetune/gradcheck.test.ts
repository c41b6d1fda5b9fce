// Fine-tuning backward in float64 with the ref kernels, property-based over small random shapes: the LM head
// on counted positions only equals the dense head (loss and gradients against finite differences of a loss
// computed from dense logits), positions without a loss carry no gradient, and the frozen-layer (top-N) and
// LoRA backward passes match finite differences.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import type { Kernels } from '../../src/kernels/types.js';
import { Finetuner, type FinetuneBatch } from '../../src/finetune/finetuner.js';
import { LORA_SITES, type FinetuneMethod } from '../../src/finetune/method.js';
import { Rng } from '../../src/util/rng.js';
import { expectAdapterGrads, expectGrads, modelShapes, noisyModel, paddedBatch } from './helpers.js';

const schedule = { lr: 1e-3, warmup: 1, steps: 10, finalLrFrac: 0.1 };

/** Mean cross-entropy over the counted targets from the dense logits (B,T,V) of a forward without targets. */
function denseLoss(model: ReturnType<typeof noisyModel>, b: FinetuneBatch): number {
  const V = model.config.vocabSize;
  model.forward(b.inputs, null, b.B, b.T);
  const logits = model.logits();
  let sum = 0;
  let n = 0;
  for (let i = 0; i < b.B * b.T; i++) {
    if (b.targets[i] < 0) continue;
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, logits[i * V + v]);
    let z = 0;
    for (let v = 0; v < V; v++) z += Math.exp(logits[i * V + v] - max);
    sum += Math.log(z) + max - logits[i * V + b.targets[i]];
    n++;
  }
  return sum / n;
}

describe('sparse LM head and masking (float64, ref kernels)', () => {
  it('loss and gradients equal those of the dense head restricted to counted positions', () => {
    fc.assert(
      fc.property(modelShapes, ({ config, V, B, T, seed }) => {
        const model = noisyModel(config, seed);
        const batch = paddedBatch(V, B, T, seed + 7);
        const loss = model.forward(batch.inputs, batch.targets, B, T);
        expect(Math.abs(loss - denseLoss(model, batch))).toBeLessThan(1e-12);
        model.zeroGrad();
        model.forward(batch.inputs, batch.targets, B, T);
        model.backward();
        const g = model.grads!.data;
        for (const e of model.params.table) expectGrads(e.name, model.params.get(e.name), g.subarray(e.offset, e.offset + e.size), () => denseLoss(model, batch));
      }),
      { numRuns: 12, seed: 11 },
    );
  });

  it('positions without a loss carry no gradient: changing their tokens and ignore values changes no gradient bit', () => {
    fc.assert(
      fc.property(modelShapes, ({ config, V, B, T, seed }) => {
        const model = noisyModel(config, seed);
        const a = paddedBatch(V, B, T, seed + 7);
        const grads = (b: FinetuneBatch) => {
          model.zeroGrad();
          const loss = model.forward(b.inputs, b.targets, B, T);
          model.backward();
          return { loss, g: Float64Array.from(model.grads!.data) };
        };
        // b: every token after a row's last counted target changed, ignore values -1 -> -100
        const b = { ...a, inputs: Int32Array.from(a.inputs), targets: a.targets.map((t) => (t < 0 ? -100 : t)) };
        const rng = new Rng(seed);
        for (let r = 0; r < B; r++) {
          let last = -1;
          for (let t = 0; t < T; t++) if (a.targets[r * T + t] >= 0) last = t;
          for (let t = last + 1; t < T; t++) b.inputs[r * T + t] = rng.int(V);
        }
        const ga = grads(a);
        const gb = grads(b);
        expect(gb.loss).toBe(ga.loss);
        for (let i = 0; i < ga.g.length; i++) if (ga.g[i] !== gb.g[i]) throw new Error(`gradient ${i}: ${ga.g[i]} vs ${gb.g[i]}`);
      }),
      { numRuns: 20, seed: 12 },
    );
  });
});

describe('frozen layers and LoRA backward (float64, ref kernels)', () => {
  it('top-N: trainable gradients match finite differences; backward runs only the trained blocks', () => {
    fc.assert(
      fc.property(modelShapes, fc.integer({ min: 1, max: 3 }), ({ config, V, B, T, seed }, top) => {
        const layers = Math.min(top, config.nLayer);
        let attnBackwards = 0;
        const spy: Kernels = { ...ref, attentionBackward: (...args: Parameters<Kernels['attentionBackward']>) => (attnBackwards++, ref.attentionBackward(...args)) };
        const model = noisyModel(config, seed, undefined, spy);
        const ft = new Finetuner(model, { method: { kind: 'top', layers }, schedule, gradClip: 0 });
        const batch = paddedBatch(V, B, T, seed + 7);
        ft.grads!.fill(0);
        model.forward(batch.inputs, batch.targets, B, T);
        model.backward();
        expect(attnBackwards).toBe(layers);
        expect(model.grads).toBeNull(); // no full-size gradient buffer
        const loss = () => model.forward(batch.inputs, batch.targets, B, T);
        for (const e of ft.trainable) {
          expect(e.name.startsWith('ln_f.') || Number(/^h\.(\d+)\./.exec(e.name)![1]) >= config.nLayer - layers).toBe(true);
          expectGrads(e.name, model.params.get(e.name), ft.grads!.subarray(e.offset, e.offset + e.size), loss);
        }
        expect(ft.optimizer!.m.length).toBe(ft.grads!.length);
      }),
      { numRuns: 15, seed: 13 },
    );
  });

  it('LoRA: adapter gradients match finite differences (with and without dropout, any target subset)', () => {
    fc.assert(
      fc.property(
        modelShapes,
        fc.integer({ min: 1, max: 3 }),
        fc.subarray([...LORA_SITES], { minLength: 1 }),
        fc.constantFrom(0, 0.3),
        ({ config, V, B, T, seed }, r, targets, dropout) => {
            const model = noisyModel(config, seed);
          const method: FinetuneMethod = { kind: 'lora', lora: { r, alpha: 2 * r + 1, dropout, targets } };
          const ft = new Finetuner(model, { method, schedule, gradClip: 0, seed });
          const lora = ft.lora!;
          lora.training = true; // fixed masks: the same dropoutSeed gives the same function
          lora.dropoutSeed = seed;
          expectAdapterGrads(model, lora, paddedBatch(V, B, T, seed + 7), new Rng(seed + 5));
          expect(model.grads).toBeNull();
        },
      ),
      { numRuns: 20, seed: 14 },
    );
  });

  it('residual and embedding dropout: every gradient matches finite differences with the masks fixed by their seed', () => {
    let changed = 0;
    fc.assert(
      fc.property(modelShapes, fc.constantFrom(0.2, 0.5), ({ config, V, B, T, seed }, p) => {
        const model = noisyModel(config, seed);
        const batch = paddedBatch(V, B, T, seed + 7);
        const loss = () => model.forward(batch.inputs, batch.targets, B, T);
        const plain = loss();
        model.dropout = { p, seed };
        if (loss() !== plain) changed++; // the masks change the function (a tiny model may keep every value)
        model.zeroGrad();
        loss();
        model.backward();
        const g = model.grads!.data;
        for (const e of model.params.table) expectGrads(e.name, model.params.get(e.name), g.subarray(e.offset, e.offset + e.size), loss);
        model.dropout = null;
        expect(loss()).toBe(plain);
      }),
      { numRuns: 12, seed: 16 },
    );
    expect(changed).toBeGreaterThan(6);
  });

  it('block recomputation gives bit-identical gradients (with and without dropout)', () => {
    fc.assert(
      fc.property(modelShapes, fc.constantFrom(0, 0.3), ({ config, V, B, T, seed }, p) => {
        const model = noisyModel(config, seed);
        model.dropout = p > 0 ? { p, seed } : null;
        const batch = paddedBatch(V, B, T, seed + 7);
        const run = (recompute: boolean) => {
          model.recompute = recompute;
          model.zeroGrad();
          const loss = model.forward(batch.inputs, batch.targets, B, T);
          model.backward();
          return { loss, g: Float64Array.from(model.grads!.data) };
        };
        const plain = run(false);
        const re = run(true);
        expect(re.loss).toBe(plain.loss);
        expect(Buffer.from(re.g.buffer).equals(Buffer.from(plain.g.buffer))).toBe(true);
      }),
      { numRuns: 15, seed: 15 },
    );
  });
});
