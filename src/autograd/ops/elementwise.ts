// Elementwise ops with NumPy broadcasting: add, sub, mul, div, pow, neg, exp, log, sqrt, tanh, relu.
// Each op computes its output and records its backward in the same function (micrograd style).
// Backward formulas are written with the same ops (they run under noGrad); gradients come back in the
// broadcast shape and the engine sums them down to each input's shape.
import { Tensor, newArray, type TensorLike } from '../../tensor/tensor.js';
import { map, map2, values } from '../../tensor/layout.js';
import { sameShape } from '../../tensor/shape.js';
import { record } from '../graph.js';
import { getKernels } from '../../kernels/index.js';

/** A 0-d tensor holding x, in the dtype of `like`. */
export function scalarLike(x: number, like: Tensor): Tensor {
  return new Tensor(newArray(like.dtype, 1).fill(x), []);
}

/** Both operands as tensors; a plain number becomes a scalar of the other side's dtype. */
export function lift2(op: string, a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (a instanceof Tensor) return [a, b instanceof Tensor ? b : scalarLike(b, a)];
  if (b instanceof Tensor) return [scalarLike(a, b), b];
  throw new TypeError(`${op}: at least one operand must be a Tensor`);
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('add', a, b);
  let out: Tensor;
  if (sameShape(x.shape, y.shape) && x.dtype === y.dtype) {
    // same-shape adds are the big ones (residual streams): one kernel call
    const o = newArray(x.dtype, x.size);
    getKernels().add(o, values(x), values(y), o.length);
    out = new Tensor(o, x.shape);
  } else {
    out = map2('add', x, y, (p, q) => p + q);
  }
  return record('add', out, [x, y], (g) => [g, g]);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('sub', a, b);
  return record('sub', map2('sub', x, y, (p, q) => p - q), [x, y], (g, needs) => [g, needs[1] ? neg(g) : null]);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('mul', a, b);
  return record('mul', map2('mul', x, y, (p, q) => p * q), [x, y], (g, needs) => [
    needs[0] ? mul(g, y) : null,
    needs[1] ? mul(g, x) : null,
  ]);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('div', a, b);
  const out = map2('div', x, y, (p, q) => p / q);
  // d(x/y)/dx = 1/y;  d(x/y)/dy = -x/y² = -out/y
  return record('div', out, [x, y], (g, needs) => [
    needs[0] ? div(g, y) : null,
    needs[1] ? neg(mul(g, div(out, y))) : null,
  ]);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = lift2('pow', a, b);
  const out = map2('pow', x, y, Math.pow);
  // d(x^y)/dx = y·x^(y-1);  d(x^y)/dy = x^y·ln x
  return record('pow', out, [x, y], (g, needs) => [
    needs[0] ? mul(g, mul(y, pow(x, sub(y, 1)))) : null,
    needs[1] ? mul(g, mul(out, log(x))) : null,
  ]);
}

export function neg(x: Tensor): Tensor {
  return record('neg', map(x, (v) => -v), [x], (g) => [neg(g)]);
}

export function exp(x: Tensor): Tensor {
  const out = map(x, Math.exp);
  return record('exp', out, [x], (g) => [mul(g, out)]);
}

export function log(x: Tensor): Tensor {
  return record('log', map(x, Math.log), [x], (g) => [div(g, x)]);
}

export function sqrt(x: Tensor): Tensor {
  const out = map(x, Math.sqrt);
  return record('sqrt', out, [x], (g) => [div(g, mul(out, 2))]);
}

export function tanh(x: Tensor): Tensor {
  const out = map(x, Math.tanh);
  return record('tanh', out, [x], (g) => [mul(g, sub(1, mul(out, out)))]);
}

export function relu(x: Tensor): Tensor {
  return record('relu', map(x, (v) => (v > 0 ? v : 0)), [x], (g) => [mul(g, map(x, (v) => (v > 0 ? 1 : 0)))]);
}
