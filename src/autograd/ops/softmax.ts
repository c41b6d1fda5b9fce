// softmax and logSoftmax along one axis, numerically stable (max subtracted). The rows are gathered so
// the axis is last and contiguous, as the softmax kernel expects; backward uses the saved output:
//   softmax:    dx = y ⊙ (g − Σ g⊙y)      logSoftmax: dx = g − softmax(x) ⊙ Σ g
import { Tensor, newArray } from '../../tensor/tensor.js';
import { inversePermutation, permuteRaw, values } from '../../tensor/layout.js';
import { normAxis } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import type { FloatArray } from '../../kernels/types.js';
import { record } from '../graph.js';
import { exp, mul, sub } from './elementwise.js';
import { sum } from './reduce.js';

/** Apply a row function to x with `axis` moved last; the result has x's shape (a view if axis isn't last). */
function alongAxis(op: string, x: Tensor, axis: number, rows: (out: FloatArray, inp: FloatArray, N: number, C: number) => void): Tensor {
  const a = normAxis(op, axis, x.ndim);
  const dims = x.shape.map((_, i) => i).filter((i) => i !== a);
  dims.push(a);
  const moved = permuteRaw(op, x, dims); // (..., C) with C = size of `axis`
  const C = x.shape[a];
  const out = newArray(x.dtype, x.size);
  rows(out, values(moved), C === 0 ? 0 : x.size / C, C);
  return permuteRaw(op, new Tensor(out, moved.shape), inversePermutation(dims));
}

export function softmax(x: Tensor, axis = -1): Tensor {
  const y = alongAxis('softmax', x, axis, (out, inp, N, C) => getKernels().softmaxForward(out, inp, N, C));
  return record('softmax', y, [x], (g) => [mul(y, sub(g, sum(mul(g, y), axis, true)))]);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  const y = alongAxis('logSoftmax', x, axis, (out, inp, N, C) => {
    for (let r = 0; r < N; r++) {
      const o = r * C;
      let m = -Infinity;
      for (let j = 0; j < C; j++) m = Math.max(m, inp[o + j]);
      let s = 0;
      for (let j = 0; j < C; j++) s += Math.exp(inp[o + j] - m);
      const lse = m + Math.log(s);
      for (let j = 0; j < C; j++) out[o + j] = inp[o + j] - lse;
    }
  });
  return record('logSoftmax', y, [x], (g) => [sub(g, mul(exp(y), sum(g, axis, true)))]);
}
