// Random tiny GPT-2 problems for property tests in float64 with the ref kernels: a configuration (layers,
// heads, head size, vocabulary, B, T), weights perturbed beyond GPT-2's init so LayerNorm gains, biases and
// position embeddings all carry signal, random inputs and targets (optionally one ignored target).
import fc from 'fast-check';
import { ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF64 } from '../../src/models/gpt2/params.js';
import { Rng } from '../../src/util/rng.js';

export interface TinyCase {
  nLayer: number;
  nHead: number;
  hs: number;
  V: number;
  B: number;
  T: number;
  seed: number;
  ignore: boolean;
}

export function tinyCaseArb(max: { nLayer: number; nHead: number; hs: number; V: number; B: number; T: number }, minV = 2): fc.Arbitrary<TinyCase> {
  return fc.record({
    nLayer: fc.integer({ min: 1, max: max.nLayer }),
    nHead: fc.integer({ min: 1, max: max.nHead }),
    hs: fc.integer({ min: 1, max: max.hs }),
    V: fc.integer({ min: minV, max: max.V }),
    B: fc.integer({ min: 1, max: max.B }),
    T: fc.integer({ min: 1, max: max.T }),
    seed: fc.integer({ min: 0, max: 1e6 }),
    ignore: fc.boolean(),
  });
}

/** The flat GPT2 (float64, ref kernels) of a case, with its inputs and targets, and the rng for more draws. */
export function tinyProblem(c: TinyCase, blockSize = c.T + 1): { model: GPT2; inputs: Int32Array; targets: Int32Array; rng: Rng } {
  const config = { nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nHead * c.hs, vocabSize: c.V, blockSize };
  const model = new GPT2(config, { kernels: ref, alloc: plainF64, seed: c.seed });
  const rng = new Rng(c.seed + 1);
  const w = model.params.data;
  for (let i = 0; i < w.length; i++) w[i] += rng.normal(0, 0.3);
  const n = c.B * c.T;
  const inputs = Int32Array.from({ length: n }, () => rng.int(c.V));
  const targets = Int32Array.from({ length: n }, () => rng.int(c.V));
  if (c.ignore && n > 1) targets[rng.int(n)] = -1;
  return { model, inputs, targets, rng };
}
