// The 'js' kernel tier: fast plain-TypeScript float32 kernels and the int8 weight matmul (jobs.ts; matmul is the
// packed, register-tiled GEMM of gemm.ts) split across the worker pool when every array lives in the shared
// arena and the call is big enough, else run on the caller thread. Float64Array inputs go to `ref`.
import { sharedArena } from '../tensor/arena.js';
import { MR, NR } from './gemm.js';
import * as J from './jobs.js';
import { getPool, type Pool } from './pool.js';
import { ref } from './ref.js';
import type { Int8Kernels } from './types.js';

const F32 = Float32Array;

/**
 * Default minimum work (multiply-adds or elements touched; ~0.1 ms) for a call to use the pool: below
 * it the call stays on the caller thread, since waking a worker costs tens of µs.
 */
const MIN_PARALLEL_WORK = 1 << 18;
/** Columns per work unit when a matmul is split by columns (a multiple of NR). */
const COL_TILE = 16 * NR;

/** Element offset of a view inside the arena heap (arena views are 64-byte aligned). */
function off(v: ArrayBufferView): number {
  return v.byteOffset >>> 2;
}

export interface JsKernelOptions {
  /** Minimum work for a call to use the pool (tests use 1 to send every arena call to the pool). */
  minParallelWork?: number;
}

/** A 'js' kernel set splitting large calls across `threads` threads. */
export function createJsKernels(threads: number, opts: JsKernelOptions = {}): Int8Kernels {
  const minWork = opts.minParallelWork ?? MIN_PARALLEL_WORK;
  const arena = sharedArena();
  let pool: Pool | undefined;

  /** The pool when this call should run on it: several threads, enough work, all arrays in the arena. */
  function poolFor(work: number, ...views: ArrayBufferView[]): Pool | undefined {
    if (threads < 2 || work < minWork || !arena.shared) return undefined;
    for (const v of views) if (!arena.contains(v)) return undefined;
    pool ??= getPool(threads);
    return pool;
  }

  return {
    name: 'js',
    threads,

    matmul(c, a, b, M, K, N, transA, transB, accumulate) {
      if (!(c instanceof F32 && a instanceof F32 && b instanceof F32)) {
        return ref.matmul(c, a, b, M, K, N, transA, transB, accumulate);
      }
      // split C by row tiles when there are enough of them, else by column tiles (e.g. M = 1)
      const byRows = M >= 2 * MR * threads;
      const tile = byRows ? MR : COL_TILE;
      const units = Math.ceil((byRows ? M : N) / tile);
      const p = poolFor(M * K * N, c, a, b);
      if (p) {
        const flags = [transA ? 1 : 0, transB ? 1 : 0, accumulate ? 1 : 0, byRows ? 1 : 0];
        p.run(J.OP.matmul, [off(c), off(a), off(b), M, K, N, ...flags, tile], units, 2 * threads);
      } else {
        J.matmulUnits(c, 0, a, 0, b, 0, M, K, N, transA, transB, accumulate, byRows, tile, 0, units);
      }
    },

    add(out, a, b, n) {
      if (!(out instanceof F32 && a instanceof F32 && b instanceof F32)) return ref.add(out, a, b, n);
      const p = poolFor(n, out, a, b);
      if (p) p.run(J.OP.add, [off(out), off(a), off(b)], n);
      else J.addRange(out, 0, a, 0, b, 0, 0, n);
    },

    addBias: ref.addBias, // a memory-bound pass the wasm tier does in SIMD

    layernormForward(out, mean, rstd, inp, weight, bias, N, C, eps) {
      if (
        !(out instanceof F32 && mean instanceof F32 && rstd instanceof F32 && inp instanceof F32 &&
          weight instanceof F32 && bias instanceof F32)
      ) {
        return ref.layernormForward(out, mean, rstd, inp, weight, bias, N, C, eps);
      }
      const p = poolFor(N * C, out, mean, rstd, inp, weight, bias);
      if (p) p.run(J.OP.layernormForward, [off(out), off(mean), off(rstd), off(inp), off(weight), off(bias), C, eps], N);
      else J.layernormForwardRows(out, 0, mean, 0, rstd, 0, inp, 0, weight, 0, bias, 0, C, eps, 0, N);
    },

    layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C) {
      if (
        !(dinp instanceof F32 && dweight instanceof F32 && dbias instanceof F32 && dout instanceof F32 &&
          inp instanceof F32 && weight instanceof F32 && mean instanceof F32 && rstd instanceof F32)
      ) {
        return ref.layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
      }
      // dinp by rows, then dweight/dbias by columns (each a sum over all rows)
      const p = poolFor(N * C, dinp, dweight, dbias, dout, inp, weight, mean, rstd);
      if (p) {
        p.run(J.OP.layernormBackwardRows, [off(dinp), off(dout), off(inp), off(weight), off(mean), off(rstd), C], N);
        p.run(J.OP.layernormBackwardCols, [off(dweight), off(dbias), off(dout), off(inp), off(mean), off(rstd), N, C], C);
      } else {
        J.layernormBackwardRows(dinp, 0, dout, 0, inp, 0, weight, 0, mean, 0, rstd, 0, C, 0, N);
        J.layernormBackwardCols(dweight, 0, dbias, 0, dout, 0, inp, 0, mean, 0, rstd, 0, N, C, 0, C);
      }
    },

    attentionForward(out, preatt, att, qkv, B, T, C, NH) {
      if (!(out instanceof F32 && preatt instanceof F32 && att instanceof F32 && qkv instanceof F32)) {
        return ref.attentionForward(out, preatt, att, qkv, B, T, C, NH);
      }
      const units = B * NH * T;
      const p = poolFor(B * T * T * C, out, preatt, att, qkv);
      // causal rows cost more as t grows: many small chunks balance the threads
      if (p) p.run(J.OP.attentionForward, [off(out), off(preatt), off(att), off(qkv), T, C, NH], units, 8 * threads);
      else J.attentionForwardUnits(out, 0, preatt, 0, att, 0, qkv, 0, T, C, NH, 0, units);
    },

    attentionBackward(dqkv, dpreatt, datt, dout, qkv, att, B, T, C, NH) {
      if (
        !(dqkv instanceof F32 && dpreatt instanceof F32 && datt instanceof F32 && dout instanceof F32 &&
          qkv instanceof F32 && att instanceof F32)
      ) {
        return ref.attentionBackward(dqkv, dpreatt, datt, dout, qkv, att, B, T, C, NH);
      }
      const units = B * NH;
      const p = poolFor(B * T * T * C, dqkv, dpreatt, datt, dout, qkv, att);
      const args = [off(dqkv), off(dpreatt), off(datt), off(dout), off(qkv), off(att), T, C, NH];
      if (p) p.run(J.OP.attentionBackward, args, units);
      else J.attentionBackwardUnits(dqkv, 0, dpreatt, 0, datt, 0, dout, 0, qkv, 0, att, 0, T, C, NH, 0, units);
    },

    geluForward(out, inp, n) {
      if (!(out instanceof F32 && inp instanceof F32)) return ref.geluForward(out, inp, n);
      const p = poolFor(8 * n, out, inp);
      if (p) p.run(J.OP.geluForward, [off(out), off(inp)], n);
      else J.geluForwardRange(out, 0, inp, 0, 0, n);
    },

    geluBackward(dinp, inp, dout, n) {
      if (!(dinp instanceof F32 && inp instanceof F32 && dout instanceof F32)) {
        return ref.geluBackward(dinp, inp, dout, n);
      }
      const p = poolFor(8 * n, dinp, inp, dout);
      if (p) p.run(J.OP.geluBackward, [off(dinp), off(inp), off(dout)], n);
      else J.geluBackwardRange(dinp, 0, inp, 0, dout, 0, 0, n);
    },

    logSumExp: ref.logSumExp, // label scoring's few rows; the wasm tier does them in SIMD

    softmaxForward(out, inp, N, C) {
      if (!(out instanceof F32 && inp instanceof F32)) return ref.softmaxForward(out, inp, N, C);
      const p = poolFor(4 * N * C, out, inp);
      if (p) p.run(J.OP.softmaxForward, [off(out), off(inp), C], N);
      else J.softmaxRows(out, 0, inp, 0, C, 0, N);
    },

    crossEntropyForward(losses, probs, targets, N, V) {
      // N lookups: never worth a thread
      ref.crossEntropyForward(losses, probs, targets, N, V);
    },

    crossEntropySoftmaxBackward(dlogits, dlosses, probs, targets, N, V) {
      if (!(dlogits instanceof F32 && dlosses instanceof F32 && probs instanceof F32)) {
        return ref.crossEntropySoftmaxBackward(dlogits, dlosses, probs, targets, N, V);
      }
      const p = poolFor(N * V, dlogits, dlosses, probs, targets);
      if (p) p.run(J.OP.crossEntropySoftmaxBackward, [off(dlogits), off(dlosses), off(probs), off(targets), V], N);
      else J.crossEntropySoftmaxBackwardRows(dlogits, 0, dlosses, 0, probs, 0, targets, 0, V, 0, N);
    },

    matmulInt8(c, a, w, scales, M, K, N, block, bias) {
      const units = Math.ceil(N / 4);
      const p = poolFor(M * K * N, c, a, w, scales, ...(bias ? [bias] : []));
      if (p) p.run(J.OP.matmulInt8, [off(c), off(a), w.byteOffset, off(scales), M, K, N, block, bias ? 1 : 0, bias ? off(bias) : 0], units, 2 * threads);
      else J.matmulInt8Cols(c, 0, a, 0, w, 0, scales, 0, bias ?? null, 0, M, K, N, block, 0, units);
    },

    adamw(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step) {
      if (!(params instanceof F32 && grads instanceof F32 && m instanceof F32 && v instanceof F32)) {
        return ref.adamw(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
      }
      const c1 = 1 - Math.pow(beta1, step);
      const c2 = 1 - Math.pow(beta2, step);
      const p = poolFor(4 * n, params, grads, m, v);
      const hyper = [lr, beta1, beta2, eps, weightDecay, c1, c2];
      if (p) p.run(J.OP.adamw, [off(params), off(grads), off(m), off(v), ...hyper], n);
      else J.adamwRange(params, 0, grads, 0, m, 0, v, 0, lr, beta1, beta2, eps, weightDecay, c1, c2, 0, n);
    },
  };
}
