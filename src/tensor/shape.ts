// Shapes, strides and NumPy broadcasting rules, as plain functions over number arrays.
// Every shape error in the engine is a ShapeError whose message names the op and the shapes involved,
// so a mismatch deep inside a model reads like "matmul: inner sizes differ, a (2,3) vs b (4,5)".

export type Shape = readonly number[];

/** A programming error in how ops were combined (wrong shapes, axes or indices); names the op and shapes. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

/** "(2,3,4)" — the way every error message prints a shape; "()" for a scalar. */
export function shapeStr(shape: Shape): string {
  return `(${shape.join(',')})`;
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a contiguous tensor of this shape, in elements. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d];
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`${op}: invalid shape ${shapeStr(shape)}: sizes must be integers >= 0`);
  }
}

/** NumPy broadcasting: align on the right; each pair of sizes must match or one of them be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const ndim = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const d = ndim - s.length + i;
      if (s[i] === out[d] || s[i] === 1) continue;
      if (out[d] !== 1) {
        throw new ShapeError(`${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together (axis ${d - ndim}: ${out[d]} vs ${s[i]})`);
      }
      out[d] = s[i];
    }
  }
  return out;
}

/** A possibly negative axis turned into 0..ndim-1, with an error naming the op when out of range. */
export function normAxis(op: string, axis: number, ndim: number): number {
  const a = axis < 0 ? axis + ndim : axis;
  if (!Number.isInteger(axis) || a < 0 || a >= ndim) {
    throw new ShapeError(`${op}: axis ${axis} is out of range for a tensor with ${ndim} dimension(s)`);
  }
  return a;
}

/** Axes to reduce over: undefined means all; duplicates are an error. Returned sorted ascending. */
export function normAxes(op: string, axis: number | readonly number[] | undefined, ndim: number): number[] {
  if (axis === undefined) return Array.from({ length: ndim }, (_, i) => i);
  const list = (typeof axis === 'number' ? [axis] : [...axis]).map((a) => normAxis(op, a, ndim));
  if (new Set(list).size !== list.length) throw new ShapeError(`${op}: repeated axis in [${axis}]`);
  return list.sort((x, y) => x - y);
}

/** The shape left after reducing `axes`: with keepdim those sizes become 1, otherwise they are dropped. */
export function reducedShape(shape: Shape, axes: readonly number[], keepdim: boolean): number[] {
  return keepdim ? shape.map((d, i) => (axes.includes(i) ? 1 : d)) : shape.filter((_, i) => !axes.includes(i));
}
