// Int8 weight matmul for the deployment runtime, one function per tier: c(M,N) = a(M,K)·(scales ⊙ w)ᵀ with w int8
// (N,K) and one f32 scale per block of `block` values along each row. `ref` is the oracle (float64 sums of the exact
// dequantized products); `js` is the plain-TypeScript fallback (no dequantized copy; worker-parallel in the js tier,
// js.ts); the wasm tier (wasm/index.ts) uses integer dot products over int16-quantized activations. Per kernel set.
import { matmulInt8Cols } from './jobs.js';
import type { Kernels } from './types.js';
import { A16_MAX, hasMatmulInt8 } from './wasm/index.js';

export type MatmulInt8 = (c: Float32Array, a: Float32Array, w: Int8Array, scales: Float32Array, M: number, K: number, N: number, block: number) => void;

/** The oracle: c[i][n] = Σ_k a[i][k]·scales[n][⌊k/block⌋]·w[n][k], summed in float64. */
export const refMatmulInt8: MatmulInt8 = (c, a, w, scales, M, K, N, block) => {
  const nb = Math.ceil(K / block);
  for (let i = 0; i < M; i++) {
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * scales[n * nb + Math.floor(k / block)] * w[n * K + k];
      c[i * N + n] = s;
    }
  }
};

/** Plain TypeScript on the caller's thread (jobs.ts matmulInt8Cols over all columns; the js tier splits it across its pool). */
export const jsMatmulInt8: MatmulInt8 = (c, a, w, scales, M, K, N, block) => matmulInt8Cols(c, 0, a, 0, w, 0, scales, 0, M, K, N, block, 0, Math.ceil(N / 4));

/** The int8 matmul of a kernel set's tier: its own (wasm's, or js's on its worker pool), else the plain-TS loop, or the oracle for 'ref'. */
export function int8MatmulFor(k: Kernels): MatmulInt8 {
  if (hasMatmulInt8(k)) return (c, a, w, scales, M, K, N, block) => k.matmulInt8(c, a, w, scales, M, K, N, block);
  return k.name === 'ref' ? refMatmulInt8 : jsMatmulInt8;
}

/**
 * Bound on |fast - ref| for one output c[i][n]: the wasm tier rounds each activation to a multiple of
 * max|a_i|/A16_MAX (error ≤ half of that) and sums in float32; ε covers float32 rounding of K-term sums.
 */
export function int8ErrorBound(a: Float32Array, w: Int8Array, scales: Float32Array, K: number, block: number, i: number, n: number): number {
  const nb = Math.ceil(K / block);
  let amax = 0;
  let absDot = 0;
  let wAbs = 0;
  for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(a[i * K + k]));
  for (let k = 0; k < K; k++) {
    const ws = Math.abs(scales[n * nb + Math.floor(k / block)] * w[n * K + k]);
    wAbs += ws;
    absDot += ws * Math.abs(a[i * K + k]);
  }
  return (wAbs * amax) / (2 * A16_MAX) + 4 * K * 2 ** -24 * (absDot + (wAbs * amax) / A16_MAX) + 1e-30;
}
