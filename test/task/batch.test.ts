// Length-bucketed batches: every example once per epoch, little padding, seeded, resumable; packing
// pads with ignored targets.
import { describe, expect, it } from 'vitest';
import { BucketedBatches, packBatch, sortedBatches } from '../../src/task/batch.js';
import type { EncodedExample } from '../../src/task/encode.js';
import { Rng } from '../../src/util/rng.js';

const rng = new Rng(3);
const lengths = Array.from({ length: 203 }, () => 5 + rng.int(500));

describe('bucketed batches', () => {
  it('visits every example once per epoch, in batches of B, with less padding than random batches', () => {
    const b = new BucketedBatches(lengths, { B: 4, seed: 1 });
    expect(b.batchesPerEpoch).toBe(51);
    const seen = Array.from({ length: b.batchesPerEpoch }, () => b.next()).flat();
    expect(seen.slice().sort((x, y) => x - y)).toEqual(lengths.map((_, i) => i));
    const padding = (batches: number[][]) => batches.reduce((s, bt) => s + bt.length * Math.max(...bt.map((i) => lengths[i])) - bt.reduce((a, i) => a + lengths[i], 0), 0);
    const random = new BucketedBatches(lengths, { B: 4, seed: 1, bucket: 1 });
    expect(padding(b.plan(0))).toBeLessThan(padding(random.plan(0)) / 3);
    expect(b.plan(1)).not.toEqual(b.plan(0));
    expect(new BucketedBatches(lengths, { B: 4, seed: 2 }).plan(0)).not.toEqual(b.plan(0));
  });

  it('resumes at a saved position with the same batches', () => {
    const a = new BucketedBatches(lengths, { B: 8, seed: 5 });
    for (let i = 0; i < 40; i++) a.next(); // into the second epoch
    const state = a.getState();
    expect(state).toEqual({ epoch: 1, batch: 14 });
    const rest = Array.from({ length: 30 }, () => a.next());
    const b = new BucketedBatches(lengths, { B: 8, seed: 5 });
    b.setState(state);
    expect(Array.from({ length: 30 }, () => b.next())).toEqual(rest);
  });

  it('sorted evaluation batches and packing: pad id in, -1 targets out, answers counted', () => {
    expect(sortedBatches([5, 2, 9, 2], 3)).toEqual([[1, 3, 0], [2]]);
    const ex = (ids: number[], promptLength: number): EncodedExample => ({ ids: Int32Array.from(ids), promptLength, inputKept: 0, inputChars: 0, where: '' });
    const examples = [ex([9, 1, 2, 3], 3), ex([9, 4, 5, 6, 7, 8], 4)];
    const p = packBatch(examples, [0, 1], 0);
    expect([p.B, p.T, p.count]).toEqual([2, 5, 3]);
    expect(Array.from(p.inputs)).toEqual([9, 1, 2, 3, 0, 9, 4, 5, 6, 7]);
    expect(Array.from(p.targets)).toEqual([-1, -1, 3, -1, -1, -1, -1, -1, 7, 8]);
    const all = packBatch(examples, [0, 1], 0, { share: 1 }, p);
    expect(all.inputs).toBe(p.inputs);
    expect(Array.from(all.targets)).toEqual([1, 2, 3, -1, -1, 4, 5, 6, 7, 8]);
  });
});
