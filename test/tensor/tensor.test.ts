// Tensor data structure: views share storage, strided layouts read correctly, broadcasting and
// reductions agree with naive loops, creation is seeded and reproducible, errors are explicit.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import {
  Tensor, arange, broadcastShapes, full, manualSeed, numel, ones, rand, randn, stridedOffsets, tensor, values, zeros, ShapeError,
} from '../../src/tensor/index.js';
import * as F from '../../src/autograd/index.js';

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 });

/** Naive read of element `idx` (row-major flat index) of a tensor through its shape/strides. */
function naiveAt(t: Tensor, flat: number): number {
  let o = t.offset;
  for (let d = t.ndim - 1; d >= 0; d--) {
    o += (flat % t.shape[d]) * t.strides[d];
    flat = Math.floor(flat / t.shape[d]);
  }
  return t.data[o];
}

describe('creation', () => {
  it('builds from nested arrays, infers shape and rejects ragged input', () => {
    const t = tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(t.tolist()).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(tensor(7).shape).toEqual([]);
    expect(tensor(7).item()).toBe(7);
    expect(() => tensor([[1, 2], [3]])).toThrow(/ragged/);
    const big = Float32Array.from({ length: 300_000 }, (_, i) => i % 7); // too large for a spread
    const tb = tensor(big);
    expect(tb.shape).toEqual([300_000]);
    expect(tb.data).toEqual(big);
    expect(tb.data).not.toBe(big);
    expect(tensor([1, 2, 3, 4], { shape: [2, 2], dtype: 'float64' }).data).toBeInstanceOf(Float64Array);
  });

  it('zeros, ones, full, arange', () => {
    expect(zeros([2]).toArray()).toEqual([0, 0]);
    expect(ones([1, 2]).toArray()).toEqual([1, 1]);
    expect(full([3], 2.5).toArray()).toEqual([2.5, 2.5, 2.5]);
    expect(arange(4).toArray()).toEqual([0, 1, 2, 3]);
    expect(arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(arange(3, 0, -1).toArray()).toEqual([3, 2, 1]);
  });

  it('randn/rand are reproducible from a seed (explicit rng or manualSeed)', () => {
    expect(randn([5], { rng: new Rng(3) }).toArray()).toEqual(randn([5], { rng: new Rng(3) }).toArray());
    manualSeed(11);
    const a = rand([4], { low: -1, high: 1 }).toArray();
    manualSeed(11);
    expect(rand([4], { low: -1, high: 1 }).toArray()).toEqual(a);
    expect(a.every((v) => v >= -1 && v < 1)).toBe(true);
    expect(randn([5], { rng: new Rng(3) }).toArray()).not.toEqual(randn([5], { rng: new Rng(4) }).toArray());
  });
});

describe('views', () => {
  it('share storage: writing through the base shows in views', () => {
    const base = arange(12).reshape(3, 4);
    const tr = base.transpose();
    const sl = base.slice(1, 1, 3);
    const ex = base.slice(0, 0, 1).expand(5, 4);
    for (const v of [tr, sl, ex]) expect(v.data).toBe(base.data);
    base.data[5] = 100; // element (1,1)
    expect(tr.at(1, 1)).toBe(100);
    expect(sl.at(1, 0)).toBe(100);
    expect(tr.isContiguous).toBe(false);
    expect(tr.contiguous().isContiguous).toBe(true);
    expect(tr.contiguous().data).not.toBe(base.data);
  });

  it('any permutation + slice reads the same elements as a naive stride walk', () => {
    fc.assert(
      fc.property(shapeArb, fc.integer({ min: 0, max: 1000 }), (shape, seed) => {
        const rng = new Rng(seed);
        const base = randn(shape, { rng });
        const perm = rng.shuffle(shape.map((_, i) => i)) as number[];
        let v = base.permute(...perm);
        const axis = rng.int(v.ndim);
        const start = rng.int(v.shape[axis]);
        v = v.slice(axis, start);
        const flat = values(v);
        expect(flat.length).toBe(numel(v.shape));
        for (let i = 0; i < flat.length; i++) expect(flat[i]).toBe(naiveAt(v, i));
        expect(Array.from(stridedOffsets(v)).every((o) => o >= 0 && o < base.data.length)).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('reshape is a view when contiguous and a copy otherwise; -1 is inferred', () => {
    const a = arange(6);
    expect(a.reshape(2, -1).data).toBe(a.data);
    const t = a.reshape(2, 3).transpose();
    const r = t.reshape(6);
    expect(r.data).not.toBe(a.data);
    expect(r.toArray()).toEqual([0, 3, 1, 4, 2, 5]);
    expect(() => a.reshape(-1, -1)).toThrow(ShapeError);
  });
});

describe('broadcasting and reductions agree with naive loops', () => {
  it('binary ops broadcast like NumPy', () => {
    fc.assert(
      fc.property(shapeArb, fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 3 }), (shape, ones_, drop) => {
        const other = shape.map((d, i) => (ones_[i] ? 1 : d)).slice(Math.min(drop, shape.length));
        const rng = new Rng(drop);
        const a = randn(shape, { rng, dtype: 'float64' });
        const b = randn(other, { rng, dtype: 'float64' });
        const out = F.sub(a, b);
        expect(out.shape).toEqual(broadcastShapes('t', shape, other));
        const lead = shape.length - other.length;
        for (let i = 0; i < out.size; i++) {
          // position of element i in a, then the matching element of b
          const idx: number[] = [];
          for (let d = shape.length - 1, r = i; d >= 0; d--) {
            idx.unshift(r % shape[d]);
            r = Math.floor(r / shape[d]);
          }
          const bi = other.map((d, j) => (d === 1 ? 0 : idx[j + lead]));
          expect(values(out)[i]).toBe(a.at(...idx) - b.at(...bi));
        }
      }),
      { numRuns: 50 },
    );
  });

  it('sum / max over axes with keepdim', () => {
    const t = arange(24, undefined, 1, { dtype: 'float64' }).reshape(2, 3, 4);
    expect(t.sum().item()).toBe(276);
    expect(t.sum([0, 2]).toArray()).toEqual([60, 92, 124]);
    expect(t.sum(1, true).shape).toEqual([2, 1, 4]);
    expect(t.max(-1).toArray()).toEqual([3, 7, 11, 15, 19, 23]);
    expect(t.mean(0).toArray()).toEqual(Array.from({ length: 12 }, (_, i) => i + 6));
    expect(() => t.sum([1, -2])).toThrow(/repeated axis/);
  });

  it('matmul matches a naive triple loop (batched, float32)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (B, M, K, N) => {
        const rng = new Rng(B * 1000 + M * 100 + K * 10 + N);
        const a = randn([B, M, K], { rng });
        const b = randn([K, N], { rng });
        const c = a.matmul(b);
        expect(c.shape).toEqual([B, M, N]);
        for (let bi = 0; bi < B; bi++)
          for (let i = 0; i < M; i++)
            for (let j = 0; j < N; j++) {
              let s = 0;
              for (let k = 0; k < K; k++) s += a.at(bi, i, k) * b.at(k, j);
              expect(c.at(bi, i, j)).toBeCloseTo(s, 4);
            }
      }),
      { numRuns: 30 },
    );
  });

  it('softmax rows sum to one along any axis and survive large logits', () => {
    const x = tensor([[1000, 1001, 1002], [-5, 0, 5]]);
    for (const axis of [0, 1, -1]) {
      const s = x.softmax(axis).sum(axis).toArray();
      s.forEach((v) => expect(v).toBeCloseTo(1, 5));
    }
    expect(x.logSoftmax().toArray().every(Number.isFinite)).toBe(true);
  });
});
