// Tensor: a strided view (shape, strides, offset) over a flat Float32Array or Float64Array, as in
// PyTorch/NumPy and llm.c's flat buffers. Views (reshape, permute, slice, expand) share storage.
// This file holds the data structure; every method that computes something is a thin call into the
// differentiable ops in src/autograd/ops (one place per op: forward and backward side by side).
import type { FloatArray } from '../kernels/types.js';
import type { Node } from '../autograd/graph.js';
import * as ops from '../autograd/ops/index.js';
import { backward } from '../autograd/graph.js';
import { values } from './layout.js';
import { contiguousStrides, numel, shapeStr, ShapeError, type Shape } from './shape.js';

export type DType = 'float32' | 'float64';
/** What binary ops accept on either side: a tensor or a plain number (a scalar of the other side's dtype). */
export type TensorLike = Tensor | number;

export function dtypeOf(data: FloatArray): DType {
  return data instanceof Float64Array ? 'float64' : 'float32';
}

export function newArray(dtype: DType, n: number): FloatArray {
  return dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
}

export class Tensor {
  /** Storage; may be shared with other views. Element (i,j,…) lives at offset + i·strides[0] + j·strides[1] + … */
  readonly data: FloatArray;
  readonly shape: Shape;
  readonly strides: Shape;
  readonly offset: number;
  /** Leaves with requiresGrad collect gradients in `grad` on backward(). */
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The op that produced this tensor and how to push gradients back through it (null for leaves). */
  node: Node | null = null;

  constructor(data: FloatArray, shape: Shape, strides?: Shape, offset = 0) {
    this.data = data;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    if (!strides && offset + numel(shape) > data.length) {
      throw new ShapeError(`Tensor: shape ${shapeStr(shape)} needs ${numel(shape)} elements but the data has ${data.length - offset}`);
    }
  }

  get dtype(): DType {
    return dtypeOf(this.data);
  }
  get ndim(): number {
    return this.shape.length;
  }
  get size(): number {
    return numel(this.shape);
  }
  /** True when the elements are stored row-major without gaps (size-1 axes may have any stride). */
  get isContiguous(): boolean {
    let s = 1;
    for (let d = this.ndim - 1; d >= 0; d--) {
      if (this.shape[d] !== 1 && this.strides[d] !== s) return false;
      s *= this.shape[d];
    }
    return true;
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new ShapeError(`item: tensor of shape ${shapeStr(this.shape)} has ${this.size} elements, expected 1`);
    return this.data[this.offset];
  }
  /** Element at a full index, e.g. t.at(1, 2) for a 2-D tensor. */
  at(...index: number[]): number {
    if (index.length !== this.ndim) throw new ShapeError(`at: got ${index.length} indices for shape ${shapeStr(this.shape)}`);
    let o = this.offset;
    index.forEach((i, d) => {
      if (i < 0 || i >= this.shape[d]) throw new ShapeError(`at: index ${i} out of range for axis ${d} of shape ${shapeStr(this.shape)}`);
      o += i * this.strides[d];
    });
    return this.data[o];
  }
  /** A flat row-major copy of the values as a plain array. */
  toArray(): number[] {
    return Array.from(values(this));
  }
  /** Nested arrays, like NumPy's tolist(). */
  tolist(): unknown {
    const flat = this.toArray();
    const build = (d: number, start: number): unknown => {
      if (d === this.ndim) return flat[start];
      const step = numel(this.shape.slice(d + 1));
      return Array.from({ length: this.shape[d] }, (_, i) => build(d + 1, start + i * step));
    };
    return build(0, 0);
  }
  toString(): string {
    const grad = this.requiresGrad ? ', requiresGrad' : '';
    return `Tensor${shapeStr(this.shape)} ${this.dtype}${grad} ${JSON.stringify(this.tolist())}`;
  }

  // ---- autograd ----
  /** Mark this leaf as trainable (or not). Returns this, for chaining. */
  requireGrad(flag = true): this {
    if (this.node) throw new Error('requireGrad: only leaf tensors (not results of ops) can change requiresGrad; use detach() first');
    this.requiresGrad = flag;
    return this;
  }
  /** Backpropagate from this tensor; a non-scalar needs an upstream gradient of its shape. */
  backward(grad?: Tensor): void {
    backward(this, grad);
  }
  /** Same storage, cut off from the graph. */
  detach(): Tensor {
    return new Tensor(this.data, this.shape, this.strides, this.offset);
  }

  // ---- elementwise (NumPy broadcasting) ----
  add(o: TensorLike): Tensor { return ops.add(this, o); }
  sub(o: TensorLike): Tensor { return ops.sub(this, o); }
  mul(o: TensorLike): Tensor { return ops.mul(this, o); }
  div(o: TensorLike): Tensor { return ops.div(this, o); }
  pow(o: TensorLike): Tensor { return ops.pow(this, o); }
  neg(): Tensor { return ops.neg(this); }
  exp(): Tensor { return ops.exp(this); }
  log(): Tensor { return ops.log(this); }
  sqrt(): Tensor { return ops.sqrt(this); }
  tanh(): Tensor { return ops.tanh(this); }
  relu(): Tensor { return ops.relu(this); }
  gelu(): Tensor { return ops.gelu(this); }

  // ---- reductions and friends ----
  sum(axis?: number | number[], keepdim = false): Tensor { return ops.sum(this, axis, keepdim); }
  mean(axis?: number | number[], keepdim = false): Tensor { return ops.mean(this, axis, keepdim); }
  max(axis?: number | number[], keepdim = false): Tensor { return ops.max(this, axis, keepdim); }
  matmul(o: Tensor): Tensor { return ops.matmul(this, o); }
  softmax(axis = -1): Tensor { return ops.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return ops.logSoftmax(this, axis); }

  // ---- views (no copy when the layout allows) ----
  reshape(...shape: number[]): Tensor { return ops.reshape(this, shape); }
  permute(...dims: number[]): Tensor { return ops.permute(this, dims); }
  transpose(a = -2, b = -1): Tensor { return ops.transpose(this, a, b); }
  slice(axis: number, start: number, end?: number): Tensor { return ops.slice(this, axis, start, end); }
  expand(...shape: number[]): Tensor { return ops.expand(this, shape); }
  unsqueeze(axis: number): Tensor { return ops.unsqueeze(this, axis); }
  squeeze(axis: number): Tensor { return ops.squeeze(this, axis); }
  contiguous(): Tensor { return ops.contiguous(this); }
}
