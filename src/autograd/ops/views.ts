// Shape ops: reshape, permute/transpose, slice, expand, unsqueeze/squeeze, contiguous, concat, split.
// All but contiguous and concat are views over the input's storage (no copy when the layout allows);
// each backward maps the gradient back through the inverse view.
import { Tensor } from '../../tensor/tensor.js';
import {
  copyValues,
  expandRaw,
  inversePermutation,
  permuteRaw,
  reshapeRaw,
  scatterAdd,
  sliceRaw,
  values,
  zerosOf,
} from '../../tensor/layout.js';
import { normAxis, shapeStr, ShapeError } from '../../tensor/shape.js';
import { record } from '../graph.js';

/** Same values in a new shape; one size may be -1. A view when x is contiguous. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  return record('reshape', reshapeRaw('reshape', x, shape), [x], (g) => [reshapeRaw('reshape', g, x.shape)]);
}

/** Result axis i is input axis dims[i]. */
export function permute(x: Tensor, dims: readonly number[]): Tensor {
  const out = permuteRaw('permute', x, dims);
  const inv = inversePermutation(dims.map((d) => normAxis('permute', d, x.ndim)));
  return record('permute', out, [x], (g) => [permuteRaw('permute', g, inv)]);
}

/** Swap two axes (default: the last two, a matrix transpose). */
export function transpose(x: Tensor, a = -2, b = -1): Tensor {
  const dims = x.shape.map((_, i) => i);
  const i = normAxis('transpose', a, x.ndim);
  const j = normAxis('transpose', b, x.ndim);
  [dims[i], dims[j]] = [dims[j], dims[i]];
  return permute(x, dims);
}

/** Elements start..end-1 along one axis; negative indices count from the end. */
export function slice(x: Tensor, axis: number, start: number, end?: number): Tensor {
  const out = sliceRaw('slice', x, axis, start, end);
  return record('slice', out, [x], (g) => {
    const dx = zerosOf(g.dtype, x.shape);
    scatterAdd(sliceRaw('slice', dx, axis, start, end), values(g));
    return [dx];
  });
}

/** Broadcast to a larger shape without copying (NumPy rules). */
export function expand(x: Tensor, shape: readonly number[]): Tensor {
  return record('expand', expandRaw('expand', x, shape), [x], (g) => [g]);
}

/** Insert a size-1 axis at `axis` (may be ndim, or negative counting from the end of the result). */
export function unsqueeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('unsqueeze', axis, x.ndim + 1);
  return reshape(x, [...x.shape.slice(0, a), 1, ...x.shape.slice(a)]);
}

/** Remove a size-1 axis. */
export function squeeze(x: Tensor, axis: number): Tensor {
  const a = normAxis('squeeze', axis, x.ndim);
  if (x.shape[a] !== 1) throw new ShapeError(`squeeze: axis ${axis} of ${shapeStr(x.shape)} has size ${x.shape[a]}, not 1`);
  return reshape(x, x.shape.filter((_, i) => i !== a));
}

/** A contiguous copy (always a new buffer, so it is safe to modify). */
export function contiguous(x: Tensor): Tensor {
  return record('contiguous', new Tensor(copyValues(x), x.shape), [x], (g) => [g]);
}

/** Join tensors along an existing axis; all other sizes must match. */
export function concat(tensors: readonly Tensor[], axis = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: needs at least one tensor');
  const first = tensors[0];
  const a = normAxis('concat', axis, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      throw new ShapeError(`concat: shapes ${tensors.map((u) => shapeStr(u.shape)).join(', ')} differ outside axis ${axis}`);
    }
  }
  const shape = [...first.shape];
  shape[a] = tensors.reduce((s, t) => s + t.shape[a], 0);
  const dtype = tensors.some((t) => t.dtype === 'float64') ? 'float64' : 'float32';
  const out = zerosOf(dtype, shape);
  const starts: number[] = [];
  let at = 0;
  for (const t of tensors) {
    starts.push(at);
    scatterAdd(sliceRaw('concat', out, a, at, at + t.shape[a]), values(t));
    at += t.shape[a];
  }
  return record('concat', out, tensors, (g, needs) =>
    tensors.map((t, i) => (needs[i] ? sliceRaw('concat', g, a, starts[i], starts[i] + t.shape[a]) : null)),
  );
}

/** Split along an axis into pieces of the given sizes, or into equal chunks of `sizes` (last may be shorter). */
export function split(x: Tensor, sizes: number | readonly number[], axis = 0): Tensor[] {
  const a = normAxis('split', axis, x.ndim);
  const n = x.shape[a];
  let list: number[];
  if (typeof sizes === 'number') {
    if (!Number.isInteger(sizes) || sizes <= 0) throw new ShapeError(`split: chunk size must be a positive integer, got ${sizes}`);
    list = Array.from({ length: Math.ceil(n / sizes) }, (_, i) => Math.min(sizes, n - i * sizes));
  } else {
    list = [...sizes];
    if (list.reduce((s, d) => s + d, 0) !== n) throw new ShapeError(`split: sizes [${list}] do not add up to ${n} (axis ${axis} of ${shapeStr(x.shape)})`);
  }
  let at = 0;
  return list.map((d) => slice(x, a, at, (at += d)));
}
