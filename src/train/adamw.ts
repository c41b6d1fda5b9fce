// AdamW (Loshchilov & Hutter 2019) over one flat buffer, as llm.c trains GPT-2: β 0.9/0.95, ε 1e-8, decoupled weight decay 0.1
// applied to 2-D tensors only (embeddings and weight matrices; never biases or LayerNorm gains). The moments
// m and v are each ONE preallocated buffer in the parameter layout; the update runs through Kernels.adamw
// once per contiguous run of decayed / non-decayed tensors. A table may hold only some tensors of a model
// (fine-tuning): then m, v (and the gradients) are compact and `paramOffset` says where each tensor lives in params.
import type { FloatArray, Kernels } from '../kernels/types.js';
import type { Allocator, TensorEntry } from '../models/gpt2/params.js';

export interface AdamWHyper {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWHyper = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };

interface Segment {
  /** Offset in grads, m and v. */
  offset: number;
  /** Offset in params (= offset unless the table says otherwise). */
  paramOffset: number;
  size: number;
  decay: boolean;
}

/** A tensor the optimizer updates: offset into grads/m/v, and optionally a different offset into params. */
export type OptimizedTensor = TensorEntry & { paramOffset?: number };

export class FlatAdamW {
  readonly m: FloatArray;
  readonly v: FloatArray;
  /** Updates taken so far (the bias-correction step count). */
  t = 0;
  readonly segments: Segment[] = [];

  constructor(
    table: readonly OptimizedTensor[],
    alloc: Allocator,
    readonly hyper: AdamWHyper = ADAMW_DEFAULTS,
  ) {
    for (const e of table) {
      const decay = e.shape.length >= 2;
      const paramOffset = e.paramOffset ?? e.offset;
      const prev = this.segments[this.segments.length - 1];
      if (prev && prev.decay === decay && prev.offset + prev.size === e.offset && prev.paramOffset + prev.size === paramOffset) prev.size += e.size;
      else this.segments.push({ offset: e.offset, paramOffset, size: e.size, decay });
    }
    const last = table[table.length - 1];
    const n = last.offset + last.size;
    this.m = alloc(n);
    this.v = alloc(n);
  }

  /** One update of params from grads with learning rate lr. */
  step(kernels: Kernels, params: FloatArray, grads: FloatArray, lr: number): void {
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.hyper;
    for (const s of this.segments) {
      const end = s.offset + s.size;
      kernels.adamw(
        params.subarray(s.paramOffset, s.paramOffset + s.size),
        grads.subarray(s.offset, end),
        this.m.subarray(s.offset, end),
        this.v.subarray(s.offset, end),
        s.size,
        lr,
        beta1,
        beta2,
        eps,
        s.decay ? weightDecay : 0,
        this.t,
      );
    }
  }
}

/** √(Σ g²) over the whole gradient buffer. */
export function globalNorm(grads: FloatArray): number {
  // four independent sums: the loop is bound by the add latency otherwise
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  const n = grads.length;
  const n4 = n - (n % 4);
  for (let i = 0; i < n4; i += 4) {
    const a = grads[i];
    const b = grads[i + 1];
    const c = grads[i + 2];
    const d = grads[i + 3];
    s0 += a * a;
    s1 += b * b;
    s2 += c * c;
    s3 += d * d;
  }
  for (let i = n4; i < n; i++) s0 += grads[i] * grads[i];
  return Math.sqrt(s0 + s1 + s2 + s3);
}

/** Scales grads so their global norm is at most maxNorm (no-op if maxNorm ≤ 0); returns the norm before clipping. */
export function clipGlobalNorm(grads: FloatArray, maxNorm: number): number {
  const norm = globalNorm(grads);
  if (maxNorm > 0 && norm > maxNorm) {
    const s = maxNorm / (norm + 1e-6);
    for (let i = 0; i < grads.length; i++) grads[i] *= s;
  }
  return norm;
}
