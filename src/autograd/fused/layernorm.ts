// LayerNorm over the last axis (as in GPT-2): y = (x − mean) / √(var + eps) · weight + bias, with the
// biased variance. Fused: the kernel saves mean and 1/std per row for its hand-written backward
// (llm.c layernorm_forward/backward); tested against the composition of primitive ops.
import { Tensor, newArray } from '../../tensor/tensor.js';
import { values } from '../../tensor/layout.js';
import { shapeStr, ShapeError } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import { record } from '../graph.js';

/** x (...,C), weight (C), bias (C) -> (...,C). */
export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const C = x.shape[x.ndim - 1];
  if (x.ndim < 1 || weight.ndim !== 1 || bias.ndim !== 1 || weight.shape[0] !== C || bias.shape[0] !== C) {
    throw new ShapeError(`layerNorm: x ${shapeStr(x.shape)} needs weight and bias of shape (${C}), got ${shapeStr(weight.shape)} and ${shapeStr(bias.shape)}`);
  }
  if (x.dtype !== weight.dtype || x.dtype !== bias.dtype) throw new TypeError('layerNorm: x, weight and bias must share one dtype');
  const N = x.size / C;
  const xv = values(x);
  const wv = values(weight);
  const out = newArray(x.dtype, x.size); // (N,C)
  const mean = newArray(x.dtype, N); // (N)
  const rstd = newArray(x.dtype, N); // (N)
  getKernels().layernormForward(out, mean, rstd, xv, wv, values(bias), N, C, eps);
  return record('layerNorm', new Tensor(out, x.shape), [x, weight, bias], (g) => {
    const dx = newArray(x.dtype, x.size);
    const dw = newArray(x.dtype, C);
    const db = newArray(x.dtype, C);
    getKernels().layernormBackward(dx, dw, db, values(g), xv, wv, mean, rstd, N, C);
    return [new Tensor(dx, x.shape), new Tensor(dw, [C]), new Tensor(db, [C])];
  });
}
