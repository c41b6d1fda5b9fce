// Matrix product of the last two axes, batched over the leading axes with NumPy broadcasting:
// (...,M,K) @ (...,K,N) -> (...,M,N). Each batch is one kernels.matmul call; the backward is two more
// products, dA = dC·Bᵀ and dB = Aᵀ·dC (broadcast batch axes are summed away by the engine).
import { Tensor, newArray } from '../../tensor/tensor.js';
import { expandRaw, values } from '../../tensor/layout.js';
import { broadcastShapes, numel, shapeStr, ShapeError } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import { record } from '../graph.js';
import { transpose } from './views.js';

export function matmul(a: Tensor, b: Tensor): Tensor {
  if (a.ndim < 2 || b.ndim < 2) {
    throw new ShapeError(`matmul: both operands need at least 2 axes, got a ${shapeStr(a.shape)} and b ${shapeStr(b.shape)}; reshape vectors to (1,n) or (n,1)`);
  }
  const [M, K] = a.shape.slice(-2);
  const [K2, N] = b.shape.slice(-2);
  if (K !== K2) throw new ShapeError(`matmul: inner sizes differ, a ${shapeStr(a.shape)} vs b ${shapeStr(b.shape)} (${K} != ${K2})`);
  if (a.dtype !== b.dtype) throw new TypeError(`matmul: dtypes differ (a ${a.dtype}, b ${b.dtype}); convert one side first`);
  const batch = broadcastShapes('matmul', a.shape.slice(0, -2), b.shape.slice(0, -2));
  const av = values(expandRaw('matmul', a, [...batch, M, K])); // (batch,M,K)
  const bv = values(expandRaw('matmul', b, [...batch, K, N])); // (batch,K,N)
  const nb = numel(batch);
  const out = newArray(a.dtype, nb * M * N); // (batch,M,N)
  const k = getKernels();
  for (let i = 0; i < nb; i++) {
    k.matmul(
      out.subarray(i * M * N, (i + 1) * M * N),
      av.subarray(i * M * K, (i + 1) * M * K),
      bv.subarray(i * K * N, (i + 1) * K * N),
      M, K, N, false, false, false,
    );
  }
  return record('matmul', new Tensor(out, [...batch, M, N]), [a, b], (g, needs) => [
    needs[0] ? matmul(g, transpose(b)) : null,
    needs[1] ? matmul(transpose(a), g) : null,
  ]);
}
