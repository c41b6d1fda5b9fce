// The backward of the int8 weight matmul (int8.ts) with respect to its input, for frozen quantized weights (LoRA
// over an int8 base): dx(M,K) (+)= dy(M,N)·(scales ⊙ w), w int8 (N,K), scales (N, ceil(K/block)), the same layout the
// forward reads. `ref` is the float64 oracle; the fast form dequantizes strips of weight rows into f32 scratch (at
// most STRIP_FLOATS values at a time, never an f32 copy of the whole matrix) and runs the tier's f32 matmul on them.
import { sharedArena } from '../tensor/arena.js';
import type { FloatArray, Kernels } from './types.js';

export type MatmulInt8T = (dx: FloatArray, dy: FloatArray, w: Int8Array, scales: Float32Array, M: number, N: number, K: number, block: number, accumulate: boolean) => void;

/** Dequantized weight values per strip of the fast form (4 MB of f32). */
export const STRIP_FLOATS = 1 << 20;

/** The oracle: dx[i][k] (+)= Σ_n dy[i][n]·scales[n][⌊k/block⌋]·w[n][k], summed in float64. */
export const refMatmulInt8T: MatmulInt8T = (dx, dy, w, scales, M, N, K, block, accumulate) => {
  const nb = Math.ceil(K / block);
  for (let i = 0; i < M; i++) {
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let n = 0; n < N; n++) s += dy[i * N + n] * scales[n * nb + Math.floor(k / block)] * w[n * K + k];
      dx[i * K + k] = accumulate ? dx[i * K + k] + s : s;
    }
  }
};

/** w rows [n0, n1) as f32 (n1 - n0, K) into `out` (scales (N, ceil(K/block)) as the int8 kernels read them). */
export function dequantizeRows(out: Float32Array, w: Int8Array, scales: Float32Array, n0: number, n1: number, K: number, block: number): void {
  const nb = Math.ceil(K / block);
  for (let n = n0; n < n1; n++) {
    const o = (n - n0) * K;
    for (let b = 0; b < nb; b++) {
      const s = scales[n * nb + b];
      const end = Math.min(K, (b + 1) * block);
      for (let k = b * block; k < end; k++) out[o + k] = s * w[n * K + k];
    }
  }
}

/**
 * The fast form on kernel set `k`: per strip of S = ⌊stripFloats / K⌋ weight rows, dx += dy[:, strip]·W[strip, :]
 * with W dequantized and dy's strip columns copied contiguous, both in arena scratch released after the call.
 */
export function fastMatmulInt8T(k: Kernels, stripFloats = STRIP_FLOATS): MatmulInt8T {
  return (dx, dy, w, scales, M, N, K, block, accumulate) => {
    if (!accumulate) dx.fill(0, 0, M * K);
    if (M === 0 || N === 0 || K === 0) return;
    const S = Math.max(1, Math.min(N, Math.floor(stripFloats / K)));
    const arena = sharedArena();
    const mark = arena.mark();
    try {
      const wf = arena.alloc('f32', S * K, { zero: false });
      const ys = S === N ? null : arena.alloc('f32', M * S, { zero: false });
      for (let n0 = 0; n0 < N; n0 += S) {
        const n1 = Math.min(N, n0 + S);
        const s = n1 - n0;
        dequantizeRows(wf, w, scales, n0, n1, K, block);
        let a = dy;
        if (ys) {
          for (let i = 0; i < M; i++) ys.set(dy.subarray(i * N + n0, i * N + n1), i * s);
          a = ys;
        }
        k.matmul(dx, a, wf, M, s, K, false, false, true); // dx(M,K) += dy[:, strip](M,s)·W[strip](s,K)
      }
    } finally {
      arena.release(mark);
    }
  };
}

/** The tier's form: the oracle for 'ref' (float64 gradient checks), else the strip-wise f32 matmul. */
export function int8BackwardFor(k: Kernels): MatmulInt8T {
  return k.name === 'ref' ? refMatmulInt8T : fastMatmulInt8T(k);
}
