// The bridge: GPT-2 built from autograd modules (NanoGPT) against the flat llm.c-style GPT2 on the same
// weights. In float64 with the ref kernels, logits, loss and every parameter gradient agree to ~1e-12
// over random tiny configurations; in float32 on the default (fast) kernels the logits agree to float32 noise.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPT2, getKernels, NanoGPT, ref, setKernels, type Kernels } from '../../src/index.js';
import { tinyCaseArb, tinyProblem } from './tiny-case.js';

function expectClose(a: ArrayLike<number>, b: ArrayLike<number>, tol: number, what: string): void {
  expect(a.length, what).toBe(b.length);
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i] - b[i]) <= tol * (1 + scale))) throw new Error(`${what}[${i}]: ${a[i]} vs ${b[i]} (tolerance ${tol}·(1+${scale}))`);
  }
}

describe('NanoGPT (modules) equals GPT2 (flat) on the same weights', () => {
  let saved: Kernels;
  beforeAll(() => {
    saved = getKernels();
    setKernels(ref);
  });
  afterAll(() => {
    setKernels(saved);
  });

  it('float64, ref kernels: logits, loss and all gradients, random configs', () => {
    fc.assert(
      fc.property(
        tinyCaseArb({ nLayer: 3, nHead: 3, hs: 5, V: 17, B: 3, T: 6 }),
        (c) => {
          const { B, T, V } = c;
          const { model: flat, inputs: ids, targets } = tinyProblem(c);
          const nano = NanoGPT.fromGPT2(flat, 'float64');

          flat.forward(ids, null, B, T);
          const logits = nano.forward(ids, B, T);
          expect(logits.shape).toEqual([B, T, V]);
          expectClose(logits.toArray(), flat.logits().subarray(0, B * T * V), 1e-12, 'logits');

          const lossFlat = flat.forward(ids, targets, B, T);
          flat.zeroGrad();
          flat.backward();
          const loss = nano.loss(ids, targets, B, T);
          expect(Math.abs(loss.item() - lossFlat)).toBeLessThan(1e-12 * (1 + Math.abs(lossFlat)));
          loss.backward();
          for (const [name, p] of nano.namedParameters()) {
            expect(p.grad, name).not.toBeNull();
            expectClose(p.grad!.toArray(), flat.grads!.get(name), 1e-11, name);
          }
          expect(nano.namedParameters().map(([n]) => n).sort()).toEqual(flat.params.names().sort());
        },
      ),
      { numRuns: 30, seed: 7 },
    );
  });

  it('float32 on the default kernels: the same logits up to float32 rounding', () => {
    setKernels(saved);
    try {
      const config = { nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 50, blockSize: 8 };
      const flat = new GPT2(config, { seed: 3 });
      const nano = NanoGPT.fromGPT2(flat);
      const ids = Int32Array.from({ length: 16 }, (_, i) => (i * 7) % 50);
      flat.forward(ids, null, 2, 8);
      expectClose(nano.forward(ids, 2, 8).toArray(), flat.logits().subarray(0, 2 * 8 * 50), 1e-5, 'logits');
    } finally {
      setKernels(ref);
    }
  });
});
