// Index-driven ops: embedding lookup (rows of a table), gather along an axis (torch.gather),
// where/maskedFill (choose elementwise by a mask), and dropout (a seeded random mask).
// Integer indices are plain Int32Array/number[] with an explicit shape; masks are tensors (nonzero = true).
import { Tensor, newArray, type TensorLike } from '../../tensor/tensor.js';
import { expandRaw, map, values, zerosOf } from '../../tensor/layout.js';
import { broadcastShapes, numel, shapeStr, ShapeError, normAxis } from '../../tensor/shape.js';
import type { Rng } from '../../util/rng.js';
import { record } from '../graph.js';
import { lift2, mul, sub } from './elementwise.js';

export type Indices = Int32Array | readonly number[];

function checkIndex(op: string, ids: Indices, i: number, n: number): number {
  const v = ids[i];
  if (!Number.isInteger(v) || v < 0 || v >= n) throw new ShapeError(`${op}: index ${v} at position ${i} is out of range [0, ${n})`);
  return v;
}

/** Rows of weight (V,C) picked by ids of shape idsShape -> (...idsShape, C). Backward scatter-adds rows. */
export function embedding(weight: Tensor, ids: Indices, idsShape: readonly number[] = [ids.length]): Tensor {
  if (weight.ndim !== 2) throw new ShapeError(`embedding: weight must be (V,C), got ${shapeStr(weight.shape)}`);
  if (numel(idsShape) !== ids.length) throw new ShapeError(`embedding: ${ids.length} ids do not fill shape ${shapeStr(idsShape)}`);
  const [V, C] = weight.shape;
  const w = values(weight);
  const out = newArray(weight.dtype, ids.length * C);
  for (let i = 0; i < ids.length; i++) {
    const r = checkIndex('embedding', ids, i, V);
    out.set(w.subarray(r * C, r * C + C), i * C);
  }
  return record('embedding', new Tensor(out, [...idsShape, C]), [weight], (g) => {
    const gv = values(g);
    const dw = zerosOf(g.dtype, weight.shape);
    for (let i = 0; i < ids.length; i++) {
      const r = ids[i] * C;
      for (let j = 0; j < C; j++) dw.data[r + j] += gv[i * C + j];
    }
    return [dw];
  });
}

/**
 * torch.gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`. index has x's shape
 * except along `axis` (default: as many entries there as the index length implies).
 */
export function gather(x: Tensor, axis: number, index: Indices, indexShape?: readonly number[]): Tensor {
  const a = normAxis('gather', axis, x.ndim);
  const outer = numel(x.shape.slice(0, a));
  const inner = numel(x.shape.slice(a + 1));
  const n = x.shape[a];
  const shape = indexShape ? [...indexShape] : x.shape.map((d, i) => (i === a ? index.length / (outer * inner) : d));
  if (shape.length !== x.ndim || shape.some((d, i) => i !== a && d !== x.shape[i]) || numel(shape) !== index.length) {
    throw new ShapeError(`gather: index of shape ${shapeStr(shape)} (${index.length} entries) must match x ${shapeStr(x.shape)} except along axis ${axis}`);
  }
  const k = shape[a];
  const xv = values(x);
  const out = newArray(x.dtype, index.length);
  // position p = (o, j, i) in the output reads x at (o, index[p], i)
  const src = (p: number): number => {
    const o = Math.floor(p / (k * inner));
    return (o * n + checkIndex('gather', index, p, n)) * inner + (p % inner);
  };
  for (let p = 0; p < out.length; p++) out[p] = xv[src(p)];
  return record('gather', new Tensor(out, shape), [x], (g) => {
    const gv = values(g);
    const dx = zerosOf(g.dtype, x.shape);
    for (let p = 0; p < gv.length; p++) dx.data[src(p)] += gv[p];
    return [dx];
  });
}

/** cond ? a : b elementwise, all three broadcast together. cond is not differentiated. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('where', a, b);
  const shape = broadcastShapes('where', cond.shape, x.shape, y.shape);
  const mask = map(expandRaw('where', cond, shape), (c) => (c !== 0 ? 1 : 0));
  const m = mask.data;
  const xv = values(expandRaw('where', x, shape));
  const yv = values(expandRaw('where', y, shape));
  const out = newArray(x.dtype === 'float64' || y.dtype === 'float64' ? 'float64' : 'float32', m.length);
  for (let i = 0; i < m.length; i++) out[i] = m[i] ? xv[i] : yv[i];
  return record('where', new Tensor(out, shape), [x, y], (g, needs) => [
    needs[0] ? mul(g, mask) : null,
    needs[1] ? mul(g, sub(1, mask)) : null,
  ]);
}

/** x with `value` wherever mask is nonzero (e.g. -Infinity above the diagonal before a softmax). */
export function maskedFill(x: Tensor, mask: Tensor, value: number): Tensor {
  return where(mask, value, x);
}

/**
 * Inverted dropout: zero each element with probability p (drawn from rng, so runs are reproducible)
 * and scale the rest by 1/(1-p). With p = 0 the input is returned unchanged.
 */
export function dropout(x: Tensor, p: number, rng: Rng): Tensor {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout: p must be in [0, 1), got ${p}`);
  if (p === 0) return x;
  const keep = 1 / (1 - p);
  const mask = zerosOf(x.dtype, x.shape);
  for (let i = 0; i < mask.data.length; i++) mask.data[i] = rng.random() < p ? 0 : keep;
  return mul(x, mask); // backward: g ⊙ mask
}
