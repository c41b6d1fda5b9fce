// Linear layer as one op: y = x·Wᵀ + b with W stored (out, in) as in PyTorch nn.Linear and llm.c
// matmul_forward. The kernel's transposed forms avoid materialising Wᵀ or gᵀ:
//   dx = g·W,  dW = gᵀ·x,  db = Σ_rows g.  Tested against matmul(x, transpose(W)) + b.
import { Tensor, newArray } from '../../tensor/tensor.js';
import { values } from '../../tensor/layout.js';
import { shapeStr, ShapeError } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import { record } from '../graph.js';

/** x (...,IN), weight (OUT,IN), bias (OUT) or null -> (...,OUT). */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  const IN = x.shape[x.ndim - 1];
  if (x.ndim < 1 || weight.ndim !== 2 || weight.shape[1] !== IN) {
    throw new ShapeError(`linear: x ${shapeStr(x.shape)} needs weight (out,${IN}), got ${shapeStr(weight.shape)}`);
  }
  const OUT = weight.shape[0];
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== OUT)) throw new ShapeError(`linear: bias must be (${OUT}), got ${shapeStr(bias.shape)}`);
  if (x.dtype !== weight.dtype || (bias && bias.dtype !== x.dtype)) throw new TypeError('linear: x, weight and bias must share one dtype');
  const N = x.size / IN;
  const k = getKernels();
  const xv = values(x); // (N,IN)
  const wv = values(weight); // (OUT,IN)
  const out = newArray(x.dtype, N * OUT); // (N,OUT)
  k.matmul(out, xv, wv, N, IN, OUT, false, true, false);
  if (bias) {
    const bv = values(bias);
    for (let r = 0; r < N; r++) for (let j = 0; j < OUT; j++) out[r * OUT + j] += bv[j];
  }
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return record('linear', new Tensor(out, [...x.shape.slice(0, -1), OUT]), inputs, (g, needs) => {
    const gv = values(g); // (N,OUT)
    const grads: (Tensor | null)[] = [null, null, null];
    if (needs[0]) {
      const dx = newArray(x.dtype, N * IN);
      k.matmul(dx, gv, wv, N, OUT, IN, false, false, false); // (N,OUT)·(OUT,IN)
      grads[0] = new Tensor(dx, x.shape);
    }
    if (needs[1]) {
      const dw = newArray(x.dtype, OUT * IN);
      k.matmul(dw, gv, xv, OUT, N, IN, true, false, false); // (OUT,N)·(N,IN)
      grads[1] = new Tensor(dw, weight.shape);
    }
    if (bias && needs[2]) {
      const db = newArray(x.dtype, OUT);
      for (let r = 0; r < N; r++) for (let j = 0; j < OUT; j++) db[j] += gv[r * OUT + j];
      grads[2] = new Tensor(db, [OUT]);
    }
    return grads;
  });
}
