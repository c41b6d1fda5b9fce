// The 'wasm' kernel tier: matmul (A·B, Aᵀ·B, A·Bᵀ), decoding matvec, int8 matmul, attention, layernorm, bias add, GELU,
// softmax, its cross-entropy backward, log-sum-exp and AdamW as WebAssembly SIMD from our own emitter, on all cores over
// the arena's shared memory. Arena arrays are passed as byte offsets (zero copy); other Float32Arrays are staged through
// arena scratch; Float64Array goes to `ref`. Kernels not written in wasm are the fallback tier's (or all, without SIMD).
import { sharedArena, type Arena } from '../../tensor/arena.js';
import { createJsKernels } from '../js.js';
import { getPool, Pool } from '../pool.js';
import { ref } from '../ref.js';
import type { FloatArray, Int8Kernels, Kernels } from '../types.js';
import { relaxedSimdSupported, simdSupported } from './emitter.js';
import { matmulScratch, MR, NR } from './matmul.js';
import { kernelModule, type KernelExport } from './module.js';

export { ModuleBuilder, simdSupported, relaxedSimdSupported } from './emitter.js';
export { kernelModuleBytes } from './module.js';

export interface WasmKernelOptions {
  /** Threads to split kernels across, caller included (default 1). Needs a shared arena for > 1. */
  threads?: number;
  /** Arena whose memory the kernels run in (default: sharedArena()). */
  arena?: Arena;
  /** Override SIMD detection (tests use false to exercise the fallback). */
  simd?: boolean;
  /** The tier used for kernels without a wasm version and when SIMD is missing (default: the 'js' tier). */
  fallback?: (threads: number) => Kernels;
  /** Calls with fewer multiply-adds run on the caller's thread only (default 2^17; fork-join costs ~20–50 µs). */
  parallelMinMacs?: number;
}

/** The wasm tier's kernels: the Kernels interface plus the int8 matmul of the quantized runtime. */
export interface WasmKernels extends Int8Kernels {
  /**
   * c(M,N) = a(M,K)·(scales ⊙ w)ᵀ: c[i][n] = Σ_k a[i][k]·scales[n][k/block]·w[n][k]. w is int8 (N,K) row-major (one
   * row per output, the layout of the f32 weight it quantizes), scales f32 (N, ceil(K/block)), block a multiple of
   * 16 and at most 1024 (INT8_MAX_BLOCK); plus bias(N) on every row when given. Computed with integer dot products
   * after quantizing each row of a to int16 (relative error ≤ 2^-16 of the row's largest |a|; see int8.ts for the bound).
   */
  matmulInt8(c: Float32Array, a: Float32Array, w: Int8Array, scales: Float32Array, M: number, K: number, N: number, block: number, bias?: Float32Array): void;
  /**
   * KV-cache attention of `rows` queries at positions t..t+rows-1: out row i (C) = softmax(q_i·Kᵀ/√hs) V per head
   * over cached rows 0..t+i of K and V (cap, C); q_i is the first C floats of qkv row i (rows 3C apart, out rows C
   * apart); scores is scratch of NH·(t+rows) floats. Returns false, doing nothing, unless every array is a float32
   * view in this tier's arena (the caller then runs its own loop).
   */
  attentionDecode(out: FloatArray, qkv: FloatArray, K: FloatArray, V: FloatArray, scores: FloatArray, t: number, C: number, NH: number, rows?: number): boolean;
}

/** Largest block of values per int8 scale the wasm kernel sums in int32 without overflow. */
export const INT8_MAX_BLOCK = 1024;
export { A16_MAX } from './matvec.js';

/**
 * Below this many rows an A·Bᵀ call (every linear layer: the weights are stored (N,K)) takes the matvec kernel, which
 * streams b once for all rows, instead of packing b for the micro-kernel. A few rows are what label scoring (eval,
 * serve's classify) passes. Both paths timed in one throwaway run (2 threads, medians of 7; the effect is rerunnable
 * as bench/eval.ts's ranking rows/s): K=384 N=50257 (30M LM head) M=4 6.8 ms
 * against 8.1 packed, M=6 9.7 / 9.9, M=8 11.9 / 11.8, M=12 14.9 / 13.9; K=768 N=2304 M=6 0.53 / 0.68, M=8 0.67 / 0.65.
 */
export const MATVEC_ROWS_TRANSB = 8;

/** True when `k` has its own int8 matmul (the wasm tier, the js tier). */
export function hasMatmulInt8(k: Kernels): k is Int8Kernels {
  return typeof (k as Partial<Int8Kernels>).matmulInt8 === 'function';
}

/** True when `k` has the wasm tier's KV-cache attention (not its fallback). */
export function hasAttentionDecode(k: Kernels): k is WasmKernels {
  return typeof (k as Partial<WasmKernels>).attentionDecode === 'function';
}

let noticeShown = false;
/** Prints the one-line "no SIMD" notice, once per process. */
export function noteSimdFallback(): void {
  if (noticeShown) return;
  noticeShown = true;
  process.stderr.write(
    'tinyllm: WebAssembly SIMD is not available in this Node.js (needs 16.4+ on x86-64 or ARM64); using the plain TypeScript kernels\n',
  );
}

let simdCache: boolean | undefined;
/** True when this Node.js can run the wasm tier; prints the fallback notice once when it cannot. */
export function wasmTierAvailable(): boolean {
  simdCache ??= simdSupported();
  if (!simdCache) noteSimdFallback();
  return simdCache;
}

/** The 'wasm' tier, or the fallback tier (with a one-line notice) when WebAssembly SIMD is unavailable. */
export function createWasmKernels(opts: WasmKernelOptions = {}): Kernels {
  const threads = opts.threads ?? 1;
  const fallback = opts.fallback ?? createJsKernels;
  if (!(opts.simd ?? wasmTierAvailable())) {
    noteSimdFallback();
    return fallback(threads);
  }
  return new WasmTier(opts.arena ?? sharedArena(), threads, fallback(threads), opts.parallelMinMacs ?? 1 << 17);
}

const isF32 = (x: FloatArray): x is Float32Array => x instanceof Float32Array;

class WasmTier implements WasmKernels {
  readonly name = 'wasm';
  readonly threads: number;
  /** The caller thread's instance of the kernel module. */
  private readonly exports: Record<KernelExport, (...args: number[]) => void>;
  /** The worker pool running the module on all threads (none when single-threaded). */
  private readonly pool?: Pool;
  /** Non-arena arrays staged for the current call, copied back after it when `out`. */
  private staged: { view: Float32Array; offset: number; n: number }[] = [];

  constructor(
    private readonly arena: Arena,
    threads: number,
    private readonly base: Kernels,
    private readonly parallelMinMacs: number,
  ) {
    // worker threads need the memory shared; a private memory runs on the caller only
    this.threads = arena.shared ? threads : 1;
    const module = kernelModule({ shared: arena.shared, relaxed: relaxedSimdSupported() });
    if (this.threads > 1) this.pool = arena === sharedArena() ? getPool(this.threads) : new Pool(this.threads, arena.memory);
    const instance = this.pool ? this.pool.loadWasm(module) : new WebAssembly.Instance(module, { env: { memory: arena.memory } });
    this.exports = instance.exports as typeof this.exports;
  }

  /**
   * Calls export `name` with args plus (threads, t, t + 1): on every thread t of the pool when parallel,
   * else on the caller as thread 0 of 1. Each thread t takes the t-th share of the work and scratch.
   */
  private run(name: KernelExport, args: number[], parallel: boolean): void {
    if (this.pool && parallel) this.pool.runWasm(name, [...args, this.threads], this.threads, this.threads);
    else this.exports[name](...args, 1, 0, 1);
  }

  matmul(c: FloatArray, a: FloatArray, b: FloatArray, M: number, K: number, N: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    if (!isF32(c) || !isF32(a) || !isF32(b)) return ref.matmul(c, a, b, M, K, N, transA, transB, accumulate);
    if (M === 0 || N === 0) return;
    if (K === 0) {
      if (!accumulate) c.fill(0, 0, M * N);
      return;
    }
    const parallel = M * K * N >= this.parallelMinMacs;
    const T = parallel ? this.threads : 1;
    this.call((ptr) => {
      const pc = ptr(c, M * N, accumulate, true);
      const pa = ptr(a, M * K, true, false);
      const pb = ptr(b, K * N, true, false);
      if (M < (transB ? MATVEC_ROWS_TRANSB : MR) && (!transA || M === 1)) {
        // decoding: rows of op(a) are contiguous, so each is a matrix-vector product
        this.run('matvec', [pc, pa, pb, M, K, N, +transB, +accumulate], parallel);
        return;
      }
      // split the larger of M and N across threads; each thread packs into its own scratch
      const splitN = N >= M;
      const rows = splitN ? M : Math.ceil(M / MR / T) * MR;
      const cols = splitN ? Math.ceil(N / NR / T) * NR : N;
      const { stride, apOffset } = matmulScratch(K, rows, cols);
      // not zero-filled: its fill (~1 MB, ~0.25 ms for a 2-thread 256x768x768 call) was a third of a 16x768x768
      // call, and filling on the caller's thread made the workers' packing stores miss in cache
      const scratch = this.arena.alloc('u8', stride * T, { zero: false }).byteOffset;
      this.run('matmul', [pc, pa, pb, M, K, N, +transA, +transB, +accumulate, +splitN, scratch, stride, apOffset], parallel);
    });
  }

  matmulInt8(c: Float32Array, a: Float32Array, w: Int8Array, scales: Float32Array, M: number, K: number, N: number, block: number, bias?: Float32Array): void {
    if (!(block % 16 === 0 && block > 0 && block <= INT8_MAX_BLOCK)) throw new RangeError(`matmulInt8: block ${block} must be a multiple of 16 in [16, ${INT8_MAX_BLOCK}]`);
    if (M === 0 || N === 0) return;
    this.call((ptr) => {
      const pc = ptr(c, M * N, false, true);
      // each row of a as int16 with one scale: a ≈ ascale[i]·a16[i][k], on the caller's thread
      const a16 = this.arena.alloc('i16', M * K, { zero: false }).byteOffset;
      const ascale = this.arena.alloc('f32', M, { zero: false }).byteOffset;
      this.run('quantizeI16', [ptr(a, M * K, true, false), a16, ascale, M, K], false);
      const pw = this.arena.contains(w) ? w.byteOffset : this.stage(w, N * K, true);
      const ps = ptr(scales, N * Math.ceil(K / block), true, false);
      const pb = bias ? ptr(bias, N, true, false) : 0;
      this.run('matmulInt8', [pc, a16, ascale, pw, ps, pb, bias ? 1 : 0, M, K, N, block], M * K * N >= this.parallelMinMacs);
    });
  }

  attentionDecode(out: FloatArray, qkv: FloatArray, K: FloatArray, V: FloatArray, scores: FloatArray, t: number, C: number, NH: number, rows = 1): boolean {
    if (!this.inArena(out, qkv, K, V, scores) || scores.length < NH * (t + rows)) return false;
    this.run('attentionDecode', [out.byteOffset, qkv.byteOffset, K.byteOffset, V.byteOffset, scores.byteOffset, t, C, NH, rows], NH > 1 && rows * (t + 1) * C * 2 >= this.parallelMinMacs);
    return true;
  }

  // Element-wise and row-wise kernels run in wasm when every array is a float32 arena view (copying
  // them in and out would cost more than the kernel); otherwise the fallback tier runs them.
  geluForward(out: FloatArray, inp: FloatArray, n: number): void {
    if (!this.inArena(out, inp)) return this.base.geluForward(out, inp, n);
    this.run('geluForward', [out.byteOffset, inp.byteOffset, n], n * 16 >= this.parallelMinMacs);
  }

  geluBackward(dinp: FloatArray, inp: FloatArray, dout: FloatArray, n: number): void {
    if (!this.inArena(dinp, inp, dout)) return this.base.geluBackward(dinp, inp, dout, n);
    this.run('geluBackward', [dinp.byteOffset, inp.byteOffset, dout.byteOffset, n], n * 16 >= this.parallelMinMacs);
  }

  addBias(out: FloatArray, bias: FloatArray, N: number, C: number): void {
    if (!this.inArena(out, bias)) return this.base.addBias(out, bias, N, C);
    this.run('addBias', [out.byteOffset, bias.byteOffset, N, C], N > 1 && N * C * 4 >= this.parallelMinMacs);
  }

  logSumExp(out: FloatArray, inp: FloatArray, N: number, C: number): void {
    if (!this.inArena(inp)) return this.base.logSumExp(out, inp, N, C);
    this.call(() => {
      const ms = this.arena.alloc('f32', 2 * N, { zero: false }); // (max, Σ exp(x − max)) per row
      this.run('rowMaxSumExp', [ms.byteOffset, inp.byteOffset, N, C], N > 1 && N * C * 16 >= this.parallelMinMacs);
      for (let r = 0; r < N; r++) out[r] = ms[2 * r] + Math.log(ms[2 * r + 1]);
    });
  }

  softmaxForward(out: FloatArray, inp: FloatArray, N: number, C: number): void {
    if (!this.inArena(out, inp)) return this.base.softmaxForward(out, inp, N, C);
    this.run('softmaxForward', [out.byteOffset, inp.byteOffset, N, C], N * C * 16 >= this.parallelMinMacs);
  }

  crossEntropySoftmaxBackward(dlogits: FloatArray, dlosses: FloatArray, probs: FloatArray, targets: Int32Array, N: number, V: number): void {
    if (!this.inArena(dlogits, probs) || !isF32(dlosses)) return this.base.crossEntropySoftmaxBackward(dlogits, dlosses, probs, targets, N, V);
    this.call((ptr) => {
      const t = this.arena.alloc('i32', N, { zero: false }); // the targets' copy (the model's row index is not in the arena)
      t.set(targets.subarray(0, N));
      this.run('crossEntropySoftmaxBackward', [dlogits.byteOffset, ptr(dlosses, N, true, false), probs.byteOffset, t.byteOffset, N, V], N * V * 4 >= this.parallelMinMacs);
    });
  }

  adamw(params: FloatArray, grads: FloatArray, m: FloatArray, v: FloatArray, n: number, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void {
    if (!this.inArena(params, grads, m, v)) return this.base.adamw(params, grads, m, v, n, lr, beta1, beta2, eps, weightDecay, step);
    const c1 = 1 - Math.pow(beta1, step);
    const c2 = 1 - Math.pow(beta2, step);
    const args = [params.byteOffset, grads.byteOffset, m.byteOffset, v.byteOffset, lr, beta1, beta2, eps, weightDecay, c1, c2, n];
    this.run('adamw', args, n * 8 >= this.parallelMinMacs);
  }

  // Attention and layernorm in wasm when every array is a float32 arena view. Attention threads split the
  // B·NH (batch, head) pairs; layernorm's split rows (and columns for dweight/dbias).
  // Forward is ~B·T²·C multiply-adds (q·k and att·v over the causal half), backward twice that.
  attentionForward(out: FloatArray, preatt: FloatArray, att: FloatArray, qkv: FloatArray, B: number, T: number, C: number, NH: number): void {
    if (!this.inArena(out, preatt, att, qkv)) return this.base.attentionForward(out, preatt, att, qkv, B, T, C, NH);
    const args = [out.byteOffset, preatt.byteOffset, att.byteOffset, qkv.byteOffset, B, T, C, NH];
    this.run('attentionForward', args, B * NH > 1 && B * T * T * C >= this.parallelMinMacs);
  }

  attentionBackward(dqkv: FloatArray, dpreatt: FloatArray, datt: FloatArray, dout: FloatArray, qkv: FloatArray, att: FloatArray, B: number, T: number, C: number, NH: number): void {
    if (!this.inArena(dqkv, dpreatt, datt, dout, qkv, att)) return this.base.attentionBackward(dqkv, dpreatt, datt, dout, qkv, att, B, T, C, NH);
    const args = [dqkv.byteOffset, dpreatt.byteOffset, datt.byteOffset, dout.byteOffset, qkv.byteOffset, att.byteOffset, B, T, C, NH];
    this.run('attentionBackward', args, B * NH > 1 && 2 * B * T * T * C >= this.parallelMinMacs);
  }

  layernormForward(out: FloatArray, mean: FloatArray, rstd: FloatArray, inp: FloatArray, weight: FloatArray, bias: FloatArray, N: number, C: number, eps: number): void {
    if (!this.inArena(out, mean, rstd, inp, weight, bias)) return this.base.layernormForward(out, mean, rstd, inp, weight, bias, N, C, eps);
    const args = [out.byteOffset, mean.byteOffset, rstd.byteOffset, inp.byteOffset, weight.byteOffset, bias.byteOffset, N, C, eps];
    this.run('layernormForward', args, N > 1 && N * C * 8 >= this.parallelMinMacs);
  }

  layernormBackward(dinp: FloatArray, dweight: FloatArray, dbias: FloatArray, dout: FloatArray, inp: FloatArray, weight: FloatArray, mean: FloatArray, rstd: FloatArray, N: number, C: number): void {
    if (!this.inArena(dinp, dweight, dbias, dout, inp, weight, mean, rstd)) {
      return this.base.layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd, N, C);
    }
    const parallel = N * C * 8 >= this.parallelMinMacs;
    this.run('layernormBackwardRows', [dinp.byteOffset, dout.byteOffset, inp.byteOffset, weight.byteOffset, mean.byteOffset, rstd.byteOffset, N, C], parallel);
    this.run('layernormBackwardCols', [dweight.byteOffset, dbias.byteOffset, dout.byteOffset, inp.byteOffset, mean.byteOffset, rstd.byteOffset, N, C], parallel);
  }

  // Kernels without a wasm version: the fallback tier's.
  add: Kernels['add'] = (...args) => this.base.add(...args);
  crossEntropyForward: Kernels['crossEntropyForward'] = (...args) => this.base.crossEntropyForward(...args);

  private inArena(...views: FloatArray[]): boolean {
    return views.every((x) => isF32(x) && this.arena.contains(x));
  }

  /**
   * Runs `body` with ptr(view, n, copyIn, out) giving each array's byte offset in the arena: in place for
   * arena arrays, else a scratch copy (filled when copyIn, copied back to the view afterwards when out;
   * not zero-filled, as outputs not copied in are overwritten by the kernel). All scratch is released when
   * body returns.
   */
  private call(body: (ptr: (view: Float32Array, n: number, copyIn: boolean, out: boolean) => number) => void): void {
    const mark = this.arena.mark();
    try {
      body((view, n, copyIn, out) => {
        if (this.arena.contains(view)) return view.byteOffset;
        const offset = this.stage(view, n, copyIn);
        if (out) this.staged.push({ view, offset, n });
        return offset;
      });
      // fresh views: a later allocation may have grown (and, unshared, detached) the memory
      for (const s of this.staged) s.view.set(new Float32Array(this.arena.memory.buffer, s.offset, s.n));
    } finally {
      this.staged = [];
      this.arena.release(mark);
    }
  }

  /** Byte offset of an uninitialized arena copy of view[0..n), filled from `view` when copyIn. */
  private stage(view: Float32Array | Int8Array, n: number, copyIn: boolean): number {
    const copy = this.arena.alloc(view instanceof Int8Array ? 'i8' : 'f32', n, { zero: false });
    if (copyIn) copy.set(view.subarray(0, n));
    return copy.byteOffset;
  }
}
