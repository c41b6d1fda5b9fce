// The 'js' tier's float32 loops (and its int8 weight matmul), written over (array, element offset) pairs and a [start, end) range of
// work units, so one body serves the caller thread (its own arrays, offset 0) and the worker pool
// (whole-heap views of the shared arena, offset = byteOffset / 4). JOBS decodes a pool job's numeric
// arguments into these calls; the 'js' tier (js.ts) encodes them in the same order.
import { Gemm } from './gemm.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);

/** Views of the whole shared arena, as workers see it. */
export interface Heap {
  f32: Float32Array;
  i32: Int32Array;
  i8: Int8Array;
}

/** One Gemm (packing scratch) per thread: every worker has its own instance of this module. */
const gemm = new Gemm();

/** matmul over units of `tile` rows of C (byRows) or `tile` columns of C (otherwise, e.g. when M = 1). */
export function matmulUnits(
  c: Float32Array, co: number, a: Float32Array, ao: number, b: Float32Array, bo: number,
  M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean,
  byRows: boolean, tile: number, start: number, end: number,
): void {
  if (byRows) gemm.run(c, co, a, ao, b, bo, M, K, N, transA, transB, accumulate, start * tile, Math.min(M, end * tile), 0, N);
  else gemm.run(c, co, a, ao, b, bo, M, K, N, transA, transB, accumulate, 0, M, start * tile, Math.min(N, end * tile));
}

/** out[i] = a[i] + b[i] for i in [start, end). */
export function addRange(
  out: Float32Array, oo: number, a: Float32Array, ao: number, b: Float32Array, bo: number, start: number, end: number,
): void {
  for (let i = start; i < end; i++) out[oo + i] = a[ao + i] + b[bo + i];
}

/** LayerNorm forward of rows [start, end) of inp(N,C). */
export function layernormForwardRows(
  out: Float32Array, oo: number, mean: Float32Array, mo: number, rstd: Float32Array, ro: number,
  inp: Float32Array, io: number, w: Float32Array, wo: number, bias: Float32Array, bo: number,
  C: number, eps: number, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    const x = io + r * C;
    let m = 0;
    for (let i = 0; i < C; i++) m += inp[x + i];
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) {
      const d = inp[x + i] - m;
      v += d * d;
    }
    const s = 1 / Math.sqrt(v / C + eps);
    const y = oo + r * C;
    for (let i = 0; i < C; i++) out[y + i] = (inp[x + i] - m) * s * w[wo + i] + bias[bo + i];
    mean[mo + r] = m;
    rstd[ro + r] = s;
  }
}

/** LayerNorm backward, dinp part, rows [start, end): rows are independent. */
export function layernormBackwardRows(
  dinp: Float32Array, dio: number, dout: Float32Array, doo: number, inp: Float32Array, io: number,
  w: Float32Array, wo: number, mean: Float32Array, mo: number, rstd: Float32Array, ro: number,
  C: number, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    const x = io + r * C;
    const g = doo + r * C;
    const m = mean[mo + r];
    const s = rstd[ro + r];
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      const dnorm = w[wo + i] * dout[g + i];
      dnormMean += dnorm;
      dnormNormMean += dnorm * (inp[x + i] - m) * s;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    const d = dio + r * C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - m) * s;
      dinp[d + i] += (w[wo + i] * dout[g + i] - dnormMean - norm * dnormNormMean) * s;
    }
  }
}

/** LayerNorm backward, dweight/dbias part, columns [start, end) summed over all N rows. */
export function layernormBackwardCols(
  dw: Float32Array, dwo: number, db: Float32Array, dbo: number, dout: Float32Array, doo: number,
  inp: Float32Array, io: number, mean: Float32Array, mo: number, rstd: Float32Array, ro: number,
  N: number, C: number, start: number, end: number,
): void {
  for (let r = 0; r < N; r++) {
    const x = io + r * C;
    const g = doo + r * C;
    const m = mean[mo + r];
    const s = rstd[ro + r];
    for (let i = start; i < end; i++) {
      db[dbo + i] += dout[g + i];
      dw[dwo + i] += (inp[x + i] - m) * s * dout[g + i];
    }
  }
}

/** Causal attention forward for units u = (b·NH + h)·T + t in [start, end); llm.c layout (see ref.ts). */
export function attentionForwardUnits(
  out: Float32Array, oo: number, preatt: Float32Array, po: number, att: Float32Array, ao: number,
  qkv: Float32Array, qo: number, T: number, C: number, NH: number, start: number, end: number,
): void {
  const C3 = 3 * C;
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  for (let u = start; u < end; u++) {
    const t = u % T;
    const bh = (u - t) / T;
    const h = bh % NH;
    const b = (bh - h) / NH;
    const q = qo + b * T * C3 + t * C3 + h * hs;
    const row = u * T; // (b, h, t) row of the (B,NH,T,T) score tensors
    let maxval = -Infinity;
    for (let t2 = 0; t2 <= t; t2++) {
      const k = qo + b * T * C3 + t2 * C3 + h * hs + C;
      let val = 0;
      for (let i = 0; i < hs; i++) val += qkv[q + i] * qkv[k + i];
      val *= scale;
      if (val > maxval) maxval = val;
      preatt[po + row + t2] = val;
    }
    let expsum = 0;
    for (let t2 = 0; t2 <= t; t2++) {
      const e = Math.exp(preatt[po + row + t2] - maxval);
      expsum += e;
      att[ao + row + t2] = e;
    }
    const inv = expsum === 0 ? 0 : 1 / expsum;
    for (let t2 = 0; t2 <= t; t2++) att[ao + row + t2] *= inv;
    att.fill(0, ao + row + t + 1, ao + row + T);
    preatt.fill(0, po + row + t + 1, po + row + T);
    const o = oo + b * T * C + t * C + h * hs;
    out.fill(0, o, o + hs);
    for (let t2 = 0; t2 <= t; t2++) {
      const v = qo + b * T * C3 + t2 * C3 + h * hs + 2 * C;
      const w = att[ao + row + t2];
      for (let i = 0; i < hs; i++) out[o + i] += w * qkv[v + i];
    }
  }
}

/** Causal attention backward for units u = b·NH + h in [start, end): each (b, h) owns its dqkv slice. */
export function attentionBackwardUnits(
  dqkv: Float32Array, dqo: number, dpreatt: Float32Array, dpo: number, datt: Float32Array, dao: number,
  dout: Float32Array, doo: number, qkv: Float32Array, qo: number, att: Float32Array, ao: number,
  T: number, C: number, NH: number, start: number, end: number,
): void {
  const C3 = 3 * C;
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  for (let u = start; u < end; u++) {
    const h = u % NH;
    const b = (u - h) / NH;
    for (let t = 0; t < T; t++) {
      const q = b * T * C3 + t * C3 + h * hs;
      const row = (u * T + t) * T;
      const o = doo + b * T * C + t * C + h * hs;
      datt.fill(0, dao + row, dao + row + T);
      dpreatt.fill(0, dpo + row, dpo + row + T);
      let dot = 0;
      for (let t2 = 0; t2 <= t; t2++) {
        const v = b * T * C3 + t2 * C3 + h * hs + 2 * C;
        const a = att[ao + row + t2];
        let da = 0;
        for (let i = 0; i < hs; i++) {
          da += qkv[qo + v + i] * dout[o + i];
          dqkv[dqo + v + i] += a * dout[o + i];
        }
        datt[dao + row + t2] = da;
        dot += a * da;
      }
      for (let t2 = 0; t2 <= t; t2++) {
        const g = att[ao + row + t2] * (datt[dao + row + t2] - dot);
        dpreatt[dpo + row + t2] = g;
        const k = b * T * C3 + t2 * C3 + h * hs + C;
        const gs = g * scale;
        for (let i = 0; i < hs; i++) {
          dqkv[dqo + q + i] += qkv[qo + k + i] * gs;
          dqkv[dqo + k + i] += qkv[qo + q + i] * gs;
        }
      }
    }
  }
}

export function geluForwardRange(
  out: Float32Array, oo: number, inp: Float32Array, io: number, start: number, end: number,
): void {
  for (let i = start; i < end; i++) {
    const x = inp[io + i];
    out[oo + i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x)));
  }
}

export function geluBackwardRange(
  dinp: Float32Array, dio: number, inp: Float32Array, io: number, dout: Float32Array, doo: number, start: number, end: number,
): void {
  for (let i = start; i < end; i++) {
    const x = inp[io + i];
    const th = Math.tanh(GELU_SCALE * (x + 0.044715 * x * x * x));
    const grad = 0.5 * (1 + th) + x * 0.5 * (1 - th * th) * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[dio + i] += grad * dout[doo + i];
  }
}

/** Row softmax of rows [start, end) of inp(N,C); out may alias inp. */
export function softmaxRows(
  out: Float32Array, oo: number, inp: Float32Array, io: number, C: number, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    const x = io + r * C;
    const y = oo + r * C;
    let maxval = -Infinity;
    for (let i = 0; i < C; i++) if (inp[x + i] > maxval) maxval = inp[x + i];
    let sum = 0;
    for (let i = 0; i < C; i++) {
      const e = Math.exp(inp[x + i] - maxval);
      out[y + i] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let i = 0; i < C; i++) out[y + i] *= inv;
  }
}

/** Fused softmax + cross-entropy backward for rows [start, end); negative targets are skipped. */
export function crossEntropySoftmaxBackwardRows(
  dlogits: Float32Array, dlo: number, dlosses: Float32Array, dso: number, probs: Float32Array, po: number,
  targets: Int32Array, to: number, V: number, start: number, end: number,
): void {
  for (let r = start; r < end; r++) {
    const t = targets[to + r];
    if (t < 0) continue;
    const d = dlosses[dso + r];
    const g = dlo + r * V;
    const p = po + r * V;
    for (let i = 0; i < V; i++) dlogits[g + i] += probs[p + i] * d;
    dlogits[g + t] -= d;
  }
}

/** AdamW over parameters [start, end); c1, c2 are the bias corrections 1 − β^step. */
export function adamwRange(
  p: Float32Array, po: number, g: Float32Array, go: number, m: Float32Array, mo: number, v: Float32Array, vo: number,
  lr: number, beta1: number, beta2: number, eps: number, wd: number, c1: number, c2: number, start: number, end: number,
): void {
  for (let i = start; i < end; i++) {
    const gi = g[go + i];
    const mi = beta1 * m[mo + i] + (1 - beta1) * gi;
    const vi = beta2 * v[vo + i] + (1 - beta2) * gi * gi;
    m[mo + i] = mi;
    v[vo + i] = vi;
    const pi = p[po + i];
    p[po + i] = pi - lr * (mi / c1 / (Math.sqrt(vi / c2) + eps) + wd * pi);
  }
}

/**
 * Int8 weight matmul c(M,N) = a(M,K)·(scales ⊙ w)ᵀ for the output columns of units [start, end), 4 columns a unit
 * (4 rows of w share each load of a): per block of `block` values, Σ a·w, then times the block's scale. Every
 * output is the same sum in the same order whatever the split, so any thread count gives the same bits.
 */
export function matmulInt8Cols(
  c: Float32Array, co: number, a: Float32Array, ao: number, w: Int8Array, wo: number, scales: Float32Array, so: number,
  M: number, K: number, N: number, block: number, start: number, end: number,
): void {
  const nb = Math.ceil(K / block);
  const stop = Math.min(N, 4 * end);
  let n = 4 * start;
  for (; n + 4 <= stop; n += 4) {
    const w0 = wo + n * K;
    const w1 = w0 + K;
    const w2 = w1 + K;
    const w3 = w2 + K;
    const s0 = so + n * nb;
    for (let i = 0; i < M; i++) {
      const x = ao + i * K;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      let c3 = 0;
      for (let b = 0; b < nb; b++) {
        let d0 = 0;
        let d1 = 0;
        let d2 = 0;
        let d3 = 0;
        const last = Math.min(K, (b + 1) * block);
        for (let k = b * block; k < last; k++) {
          const v = a[x + k];
          d0 += v * w[w0 + k];
          d1 += v * w[w1 + k];
          d2 += v * w[w2 + k];
          d3 += v * w[w3 + k];
        }
        c0 += d0 * scales[s0 + b];
        c1 += d1 * scales[s0 + nb + b];
        c2 += d2 * scales[s0 + 2 * nb + b];
        c3 += d3 * scales[s0 + 3 * nb + b];
      }
      const o = co + i * N + n;
      c[o] = c0;
      c[o + 1] = c1;
      c[o + 2] = c2;
      c[o + 3] = c3;
    }
  }
  for (; n < stop; n++) {
    for (let i = 0; i < M; i++) {
      let sum = 0;
      for (let b = 0; b < nb; b++) {
        let d = 0;
        const last = Math.min(K, (b + 1) * block);
        for (let k = b * block; k < last; k++) d += a[ao + i * K + k] * w[wo + n * K + k];
        sum += d * scales[so + n * nb + b];
      }
      c[co + i * N + n] = sum;
    }
  }
}

/** Pool job ids; the argument lists below are the element offsets and sizes js.ts sends, in order. */
export const OP = {
  matmul: 0, // c, a, b, M, K, N, transA, transB, accumulate, byRows, tile
  add: 1, // out, a, b
  layernormForward: 2, // out, mean, rstd, inp, weight, bias, C, eps
  layernormBackwardRows: 3, // dinp, dout, inp, weight, mean, rstd, C
  layernormBackwardCols: 4, // dweight, dbias, dout, inp, mean, rstd, N, C
  attentionForward: 5, // out, preatt, att, qkv, T, C, NH
  attentionBackward: 6, // dqkv, dpreatt, datt, dout, qkv, att, T, C, NH
  geluForward: 7, // out, inp
  geluBackward: 8, // dinp, inp, dout
  softmaxForward: 9, // out, inp, C
  crossEntropySoftmaxBackward: 10, // dlogits, dlosses, probs, targets, V
  adamw: 11, // params, grads, m, v, lr, beta1, beta2, eps, weightDecay, c1, c2
  matmulInt8: 12, // c, a, w (a byte offset: int8 elements), scales, M, K, N, block
} as const;

type Job = (h: Heap, x: Float64Array, start: number, end: number) => void;

/** Pool job bodies indexed by OP: x holds the job's arguments. */
export const JOBS: readonly Job[] = [
  ({ f32 }, x, s, e) =>
    matmulUnits(f32, x[0], f32, x[1], f32, x[2], x[3], x[4], x[5], x[6] !== 0, x[7] !== 0, x[8] !== 0, x[9] !== 0, x[10], s, e),
  ({ f32 }, x, s, e) => addRange(f32, x[0], f32, x[1], f32, x[2], s, e),
  ({ f32 }, x, s, e) => layernormForwardRows(f32, x[0], f32, x[1], f32, x[2], f32, x[3], f32, x[4], f32, x[5], x[6], x[7], s, e),
  ({ f32 }, x, s, e) => layernormBackwardRows(f32, x[0], f32, x[1], f32, x[2], f32, x[3], f32, x[4], f32, x[5], x[6], s, e),
  ({ f32 }, x, s, e) =>
    layernormBackwardCols(f32, x[0], f32, x[1], f32, x[2], f32, x[3], f32, x[4], f32, x[5], x[6], x[7], s, e),
  ({ f32 }, x, s, e) => attentionForwardUnits(f32, x[0], f32, x[1], f32, x[2], f32, x[3], x[4], x[5], x[6], s, e),
  ({ f32 }, x, s, e) =>
    attentionBackwardUnits(f32, x[0], f32, x[1], f32, x[2], f32, x[3], f32, x[4], f32, x[5], x[6], x[7], x[8], s, e),
  ({ f32 }, x, s, e) => geluForwardRange(f32, x[0], f32, x[1], s, e),
  ({ f32 }, x, s, e) => geluBackwardRange(f32, x[0], f32, x[1], f32, x[2], s, e),
  ({ f32 }, x, s, e) => softmaxRows(f32, x[0], f32, x[1], x[2], s, e),
  ({ f32, i32 }, x, s, e) => crossEntropySoftmaxBackwardRows(f32, x[0], f32, x[1], f32, x[2], i32, x[3], x[4], s, e),
  ({ f32 }, x, s, e) =>
    adamwRange(f32, x[0], f32, x[1], f32, x[2], f32, x[3], x[4], x[5], x[6], x[7], x[8], x[9], x[10], s, e),
  ({ f32, i8 }, x, s, e) => matmulInt8Cols(f32, x[0], f32, x[1], i8, x[2], f32, x[3], x[4], x[5], x[6], x[7], s, e),
];
