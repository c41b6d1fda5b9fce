// Whole-model gradient check in float64 with the ref kernels: backward() against central differences of
// forward(), for varied tiny shapes (layers, heads, head size, vocabulary, B, T, ignored targets).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF64 } from '../../src/models/gpt2/params.js';
import { tinyCaseArb, tinyProblem } from './tiny-case.js';

describe('GPT2 gradient check (float64, ref kernels)', () => {
  it('backward matches finite differences for every parameter kind', () => {
    fc.assert(
      fc.property(
        tinyCaseArb({ nLayer: 2, nHead: 3, hs: 4, V: 13, B: 2, T: 5 }, 3),
        (c) => {
          const { B, T } = c;
          const { model, inputs, targets, rng } = tinyProblem(c, T + 2);
          const w = model.params.data;
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
