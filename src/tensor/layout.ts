// Memory layout helpers, NOT recorded by autograd: strided views (reshape, permute, slice, expand),
// gathering a strided view into contiguous values, scattering back, raw reductions and elementwise maps.
// The differentiable ops in src/autograd/ops are built from these; backward passes use them too.
import { Tensor, newArray, type DType } from './tensor.js';
import {
  broadcastShapes,
  checkShape,
  contiguousStrides,
  normAxis,
  numel,
  reducedShape,
  sameShape,
  shapeStr,
  ShapeError,
  type Shape,
} from './shape.js';
import type { FloatArray } from '../kernels/types.js';

/** Storage offset of every element of `t`, in row-major order of its shape. The one N-d index walk. */
export function stridedOffsets(t: Tensor): Int32Array {
  const { shape, strides, ndim } = t;
  const n = t.size;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const idx = new Array<number>(ndim).fill(0);
  const last = ndim - 1;
  const lastLen = ndim === 0 ? 1 : shape[last];
  const lastStride = ndim === 0 ? 0 : strides[last];
  let base = t.offset;
  for (let i = 0; i < n; ) {
    for (let j = 0, o = base; j < lastLen; j++, o += lastStride) out[i++] = o;
    // advance the outer counters like an odometer
    for (let d = last - 1; d >= 0; d--) {
      base += strides[d];
      if (++idx[d] < shape[d]) break;
      base -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return out;
}

/**
 * The values of `t` as a contiguous row-major array. When `t` is already contiguous this is a view of
 * its storage (no copy), so treat the result as read-only; use copyValues() for a private copy.
 */
export function values(t: Tensor): FloatArray {
  if (t.isContiguous) return t.data.subarray(t.offset, t.offset + t.size);
  const offs = stridedOffsets(t);
  const out = newArray(t.dtype, offs.length);
  const d = t.data;
  for (let i = 0; i < offs.length; i++) out[i] = d[offs[i]];
  return out;
}

export function copyValues(t: Tensor): FloatArray {
  const v = values(t);
  return v.buffer === t.data.buffer ? v.slice() : v;
}

/** dst[...] += src, where dst is any strided view (e.g. a slice of a gradient buffer) and src is contiguous. */
export function scatterAdd(dst: Tensor, src: FloatArray): void {
  const offs = stridedOffsets(dst);
  const d = dst.data;
  for (let i = 0; i < offs.length; i++) d[offs[i]] += src[i];
}

export function zerosOf(dtype: DType, shape: Shape): Tensor {
  return new Tensor(newArray(dtype, numel(shape)), shape);
}

/** Same values, new shape (a view when contiguous, a copy otherwise). One size may be -1 (inferred). */
export function reshapeRaw(op: string, t: Tensor, shape: readonly number[]): Tensor {
  const target = inferShape(op, t, shape);
  if (t.isContiguous) return new Tensor(t.data, target, contiguousStrides(target), t.offset);
  return new Tensor(values(t), target);
}

function inferShape(op: string, t: Tensor, shape: readonly number[]): number[] {
  const free = shape.filter((d) => d === -1).length;
  if (free > 1) throw new ShapeError(`${op}: only one size may be -1, got ${shapeStr(shape)}`);
  const known = numel(shape.filter((d) => d !== -1));
  const out = shape.map((d) => (d === -1 ? (known === 0 ? 0 : t.size / known) : d));
  checkShape(op, out);
  if (numel(out) !== t.size) throw new ShapeError(`${op}: cannot reshape ${shapeStr(t.shape)} (${t.size} elements) to ${shapeStr(shape)}`);
  return out;
}

/** Reorder the axes: result axis i is input axis dims[i]. Always a view. */
export function permuteRaw(op: string, t: Tensor, dims: readonly number[]): Tensor {
  const norm = dims.map((d) => normAxis(op, d, t.ndim));
  if (norm.length !== t.ndim || new Set(norm).size !== norm.length) {
    throw new ShapeError(`${op}: [${dims}] is not a permutation of the ${t.ndim} axes of ${shapeStr(t.shape)}`);
  }
  return new Tensor(t.data, norm.map((d) => t.shape[d]), norm.map((d) => t.strides[d]), t.offset);
}

export function inversePermutation(dims: readonly number[]): number[] {
  const inv = new Array<number>(dims.length);
  dims.forEach((d, i) => (inv[d] = i));
  return inv;
}

/** Elements start..end-1 along `axis` (negative indices count from the end). Always a view. */
export function sliceRaw(op: string, t: Tensor, axis: number, start: number, end?: number): Tensor {
  const a = normAxis(op, axis, t.ndim);
  const n = t.shape[a];
  const s = start < 0 ? start + n : start;
  const e = end === undefined ? n : end < 0 ? end + n : end;
  if (!Number.isInteger(s) || !Number.isInteger(e) || s < 0 || e > n || s > e) {
    throw new ShapeError(`${op}: range [${start}, ${end ?? n}) is out of bounds for axis ${axis} of size ${n} in ${shapeStr(t.shape)}`);
  }
  const shape = [...t.shape];
  shape[a] = e - s;
  return new Tensor(t.data, shape, t.strides, t.offset + s * t.strides[a]);
}

/** Broadcast to `shape` (NumPy rules) with zero strides on the repeated axes. Always a view. */
export function expandRaw(op: string, t: Tensor, shape: Shape): Tensor {
  const target = broadcastShapes(op, t.shape, shape);
  if (!sameShape(target, shape)) throw new ShapeError(`${op}: cannot expand ${shapeStr(t.shape)} to ${shapeStr(shape)}`);
  const lead = shape.length - t.ndim;
  const strides = shape.map((d, i) => (i < lead || t.shape[i - lead] !== d ? 0 : t.strides[i - lead]));
  return new Tensor(t.data, shape, strides, t.offset);
}

/** out = f(x) elementwise, as a new contiguous tensor. */
export function map(t: Tensor, f: (x: number) => number): Tensor {
  const v = values(t);
  const out = newArray(t.dtype, v.length);
  for (let i = 0; i < v.length; i++) out[i] = f(v[i]);
  return new Tensor(out, t.shape);
}

/** out = f(a, b) with NumPy broadcasting; float64 if either side is. */
export function map2(op: string, a: Tensor, b: Tensor, f: (x: number, y: number) => number): Tensor {
  const shape = broadcastShapes(op, a.shape, b.shape);
  const av = values(expandRaw(op, a, shape));
  const bv = values(expandRaw(op, b, shape));
  const out = newArray(a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32', av.length);
  for (let i = 0; i < av.length; i++) out[i] = f(av[i], bv[i]);
  return new Tensor(out, shape);
}

/**
 * Reduce `axes` with a combine function, e.g. sum or max: the reduced axes are permuted to the end so
 * each output element is one contiguous run of the gathered values.
 */
export function reduceRaw(t: Tensor, axes: readonly number[], keepdim: boolean, init: number, combine: (acc: number, x: number) => number): Tensor {
  const kept = t.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const v = values(permuteRaw('reduce', t, [...kept, ...axes]));
  const run = numel(axes.map((a) => t.shape[a]));
  const outShape = reducedShape(t.shape, axes, keepdim);
  const out = newArray(t.dtype, numel(outShape));
  for (let o = 0, i = 0; o < out.length; o++) {
    let acc = init;
    for (let j = 0; j < run; j++, i++) acc = combine(acc, v[i]);
    out[o] = acc;
  }
  return new Tensor(out, outShape);
}

export function sumRaw(t: Tensor, axes: readonly number[], keepdim: boolean): Tensor {
  return reduceRaw(t, axes, keepdim, 0, (acc, x) => acc + x);
}

/**
 * Sum a broadcast gradient back down to `shape` (the shape of the input that was broadcast):
 * extra leading axes and axes where the input had size 1 are summed away. The inverse of expandRaw.
 */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.ndim - shape.length;
  if (lead < 0) throw new ShapeError(`sumToShape: gradient ${shapeStr(g.shape)} has fewer axes than ${shapeStr(shape)}`);
  const axes: number[] = [];
  g.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
    else if (shape[i - lead] !== d) throw new ShapeError(`sumToShape: gradient ${shapeStr(g.shape)} does not broadcast to ${shapeStr(shape)}`);
  });
  return reshapeRaw('sumToShape', sumRaw(g, axes, false), shape);
}
