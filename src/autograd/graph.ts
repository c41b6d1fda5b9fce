// The autograd graph, micrograd-style: every op output that depends on a tensor with requiresGrad gets a
// Node listing its inputs and a backward closure written next to the op's forward (src/autograd/ops).
// backward() walks the graph in reverse topological order (iterative: no recursion limit on deep graphs),
// sums gradients that meet at a tensor, reduces broadcast gradients back to input shapes, and
// accumulates into the `grad` of leaf tensors. Backward closures run under noGrad.
import { Tensor, newArray } from '../tensor/tensor.js';
import { sumToShape, values } from '../tensor/layout.js';
import { sameShape, shapeStr, ShapeError } from '../tensor/shape.js';
import { getKernels } from '../kernels/index.js';

/**
 * Gradients with respect to each input, given the gradient of the output (same shape as the output).
 * `needs[i]` says whether input i wants a gradient; return null for the others. A returned gradient may
 * have the broadcast (output) shape: the engine sums it down to the input's shape.
 */
export type BackwardFn = (grad: Tensor, needs: readonly boolean[]) => readonly (Tensor | null)[];

export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly backward: BackwardFn;
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn without recording the graph (inference, optimizer updates, backward passes). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/**
 * Attach an op's backward to its freshly computed output, if any input needs a gradient and grad
 * recording is on. Returns `out`. This is how every op (and any user-defined op) joins the graph.
 */
export function record(op: string, out: Tensor, inputs: readonly Tensor[], backwardFn: BackwardFn): Tensor {
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return out;
  if (inputs.includes(out)) throw new Error(`${op}: an op must return a new Tensor object, not one of its inputs`);
  out.requiresGrad = true;
  out.node = { op, inputs, backward: backwardFn };
  return out;
}

/** Tensors reachable from root through requiresGrad inputs, each after all of its inputs (post-order). */
function topoSort(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>([root]);
  const stack: { t: Tensor; next: number }[] = [{ t: root, next: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const inputs = top.t.node?.inputs ?? [];
    if (top.next < inputs.length) {
      const x = inputs[top.next++];
      if (x.requiresGrad && !seen.has(x)) {
        seen.add(x);
        stack.push({ t: x, next: 0 });
      }
    } else {
      stack.pop();
      order.push(top.t);
    }
  }
  return order;
}

/** A fresh contiguous array of t's dtype holding a + b (same shape). */
function addFresh(a: Tensor, b: Tensor): Tensor {
  const out = newArray(a.dtype === 'float64' || b.dtype === 'float64' ? 'float64' : 'float32', a.size);
  out.set(values(a));
  getKernels().add(out, out, asDtype(values(b), out), out.length);
  return new Tensor(out, a.shape);
}

/** `v` converted to the element type of `like` when they differ (kernels take one dtype per call). */
function asDtype(v: Tensor['data'], like: Tensor['data']): Tensor['data'] {
  if (v instanceof Float64Array === like instanceof Float64Array) return v;
  const out = like instanceof Float64Array ? new Float64Array(v.length) : new Float32Array(v.length);
  out.set(v);
  return out;
}

/** leaf.grad += g, allocating the grad buffer (in the leaf's dtype) on first use. */
function accumulateLeaf(leaf: Tensor, g: Tensor): void {
  if (!leaf.grad) {
    const buf = newArray(leaf.dtype, leaf.size);
    buf.set(values(g));
    leaf.grad = new Tensor(buf, leaf.shape);
    return;
  }
  const dst = leaf.grad;
  if (!dst.isContiguous || !sameShape(dst.shape, leaf.shape)) {
    throw new Error(`backward: the grad of a leaf of shape ${shapeStr(leaf.shape)} was replaced by a non-contiguous or ${shapeStr(dst.shape)} tensor`);
  }
  const d = dst.data.subarray(dst.offset, dst.offset + dst.size);
  getKernels().add(d, d, asDtype(values(g), d), d.length);
}

/**
 * Backpropagate from `root`. Without `grad`, root must hold a single value (a loss) and the seed is 1.
 * Gradients accumulate (+=) into the `grad` of every leaf with requiresGrad; call zeroGrad between steps.
 */
export function backward(root: Tensor, grad?: Tensor): void {
  if (!root.requiresGrad) {
    throw new Error('backward: this tensor does not require grad; set requireGrad() on the leaves it is computed from, outside noGrad');
  }
  if (grad === undefined) {
    if (root.size !== 1) throw new ShapeError(`backward: root of shape ${shapeStr(root.shape)} is not a scalar; pass an upstream gradient of that shape`);
    grad = new Tensor(newArray(root.dtype, 1).fill(1), root.shape);
  } else if (!sameShape(grad.shape, root.shape)) {
    throw new ShapeError(`backward: gradient ${shapeStr(grad.shape)} does not match the root ${shapeStr(root.shape)}`);
  }
  const order = topoSort(root);
  const pending = new Map<Tensor, Tensor>([[root, grad]]);
  noGrad(() => {
    for (let i = order.length - 1; i >= 0; i--) {
      const t = order[i];
      const g = pending.get(t);
      if (!g) continue;
      pending.delete(t); // intermediate gradients are dropped as soon as they are used
      if (!t.node) {
        accumulateLeaf(t, g);
        continue;
      }
      const { inputs, op } = t.node;
      const needs = inputs.map((x) => x.requiresGrad);
      const gin = t.node.backward(g, needs);
      inputs.forEach((x, k) => {
        const gx = gin[k];
        if (!needs[k] || !gx) return;
        const r = sumToShapeFor(op, gx, x);
        const prev = pending.get(x);
        pending.set(x, prev ? addFresh(prev, r) : r);
      });
    }
  });
}

function sumToShapeFor(op: string, g: Tensor, x: Tensor): Tensor {
  try {
    return sumToShape(g, x.shape);
  } catch (e) {
    throw new ShapeError(`backward of ${op}: gradient ${shapeStr(g.shape)} does not fit input ${shapeStr(x.shape)} (${(e as Error).message})`);
  }
}
