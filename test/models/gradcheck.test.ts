// Whole-model gradient check in float64 with the ref kernels: backward() against central differences of
// forward(), for varied tiny shapes (layers, heads, head size, vocabulary, B, T, ignored targets).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF64 } from '../../src/models/gpt2/params.js';
import { Rng } from '../../src/util/rng.js';

describe('GPT2 gradient check (float64, ref kernels)', () => {
  it('backward matches finite differences for every parameter kind', () => {
    fc.assert(
      fc.property(
        fc.record({
          nLayer: fc.integer({ min: 1, max: 2 }),
          nHead: fc.integer({ min: 1, max: 3 }),
          hs: fc.integer({ min: 1, max: 4 }),
          V: fc.integer({ min: 3, max: 13 }),
          B: fc.integer({ min: 1, max: 2 }),
          T: fc.integer({ min: 1, max: 5 }),
          seed: fc.integer({ min: 0, max: 1e6 }),
          ignore: fc.boolean(),
        }),
        ({ nLayer, nHead, hs, V, B, T, seed, ignore }) => {
          const config = { nLayer, nHead, nEmbd: nHead * hs, vocabSize: V, blockSize: T + 2 };
          const model = new GPT2(config, { kernels: ref, alloc: plainF64, seed });
          // larger than GPT-2's init so every path (incl. LayerNorm gains, biases) carries signal
          const rng = new Rng(seed + 1);
          const w = model.params.data;
          for (let i = 0; i < w.length; i++) w[i] += rng.normal(0, 0.3);
          const inputs = Int32Array.from({ length: B * T }, () => rng.int(V));
          const targets = Int32Array.from({ length: B * T }, () => rng.int(V));
          if (ignore && B * T > 1) targets[rng.int(B * T)] = -1;
          model.forward(inputs, targets, B, T);
          model.zeroGrad();
          model.backward();
          const grads = (model.grads as NonNullable<typeof model.grads>).data;
          const eps = 1e-5;
          // every tensor, a few elements each
          for (const e of model.params.table) {
            for (let s = 0; s < Math.min(3, e.size); s++) {
              const i = e.offset + rng.int(e.size);
              const orig = w[i];
              w[i] = orig + eps;
              const lp = model.forward(inputs, targets, B, T);
              w[i] = orig - eps;
              const lm = model.forward(inputs, targets, B, T);
              w[i] = orig;
              const num = (lp - lm) / (2 * eps);
              const err = Math.abs(num - grads[i]) / Math.max(1e-4, Math.abs(num) + Math.abs(grads[i]));
              if (err > 1e-5) throw new Error(`${e.name}[${i - e.offset}]: analytic ${grads[i]} vs numeric ${num}`);
            }
          }
        },
      ),
      { numRuns: 25, seed: 42 },
    );
  });

  it('scale argument and accumulation: backward(0.5) twice equals backward(1) once', () => {
    const config = { nLayer: 1, nHead: 2, nEmbd: 4, vocabSize: 7, blockSize: 4 };
    const model = new GPT2(config, { kernels: ref, alloc: plainF64, seed: 3 });
    const inputs = Int32Array.of(1, 2, 3, 4);
    const targets = Int32Array.of(2, 3, 4, 5);
    model.forward(inputs, targets, 1, 4);
    model.zeroGrad();
    model.backward();
    const once = Float64Array.from(model.grads!.data);
    model.zeroGrad();
    model.forward(inputs, targets, 1, 4);
    model.backward(0.5);
    model.forward(inputs, targets, 1, 4);
    model.backward(0.5);
    const twice = model.grads!.data;
    for (let i = 0; i < once.length; i++) expect(twice[i]).toBeCloseTo(once[i], 12);
  });
});
