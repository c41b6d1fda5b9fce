// Incremental GPT-2 inference with a KV cache (B=1): feed() appends tokens at the next positions, writing
// each layer's keys and values into the cache, and returns the logits of the last one. The prompt is
// prefilled in chunks (matmuls over up to PREFILL_CHUNK rows), then each new token costs one matrix-vector
// pass per weight plus attention over the cache. Same weights and kernels as the training model.
import type { FloatArray } from '../../kernels/types.js';
import { carve } from './activations.js';
import { encoderForward, linearForward, LN_EPS, type GPT2 } from './model.js';

export const PREFILL_CHUNK = 64;

export class KVDecoder {
  /** Tokens currently in the cache (= position of the next token). */
  pos = 0;
  readonly capacity: number;
  private readonly k: FloatArray[]; // per layer (capacity, C)
  private readonly v: FloatArray[]; // per layer (capacity, C)
  private readonly s: Record<'x' | 'ln' | 'qkv' | 'atty' | 'tmp' | 'fch' | 'fchGelu' | 'mean' | 'rstd' | 'scores' | 'logits', FloatArray>;
  private readonly ids = new Int32Array(PREFILL_CHUNK);

  constructor(
    readonly model: GPT2,
    capacity = model.config.blockSize,
  ) {
    const { nLayer: L, nEmbd: C, vocabSize: V, blockSize } = model.config;
    this.capacity = Math.min(capacity, blockSize);
    const n = PREFILL_CHUNK;
    const cache = carve(model.alloc, Array.from({ length: 2 * L }, (_, i) => [String(i), this.capacity * C] as [string, number]));
    this.k = Array.from({ length: L }, (_, l) => cache[String(2 * l)]);
    this.v = Array.from({ length: L }, (_, l) => cache[String(2 * l + 1)]);
    this.s = carve(model.alloc, [
      ['x', n * C],
      ['ln', n * C],
      ['qkv', n * 3 * C],
      ['atty', n * C],
      ['tmp', n * C],
      ['fch', n * 4 * C],
      ['fchGelu', n * 4 * C],
      ['mean', n],
      ['rstd', n],
      ['scores', this.capacity],
      ['logits', V],
    ]);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Appends tokens to the context and returns the logits (V) for the token after the last one. */
  feed(tokens: ArrayLike<number>): FloatArray {
    if (tokens.length === 0) throw new Error('KVDecoder.feed: no tokens');
    if (this.pos + tokens.length > this.capacity) {
      throw new Error(`KVDecoder.feed: context would exceed ${this.capacity} tokens; reset() and feed the tail`);
    }
    for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
      const n = Math.min(PREFILL_CHUNK, tokens.length - i);
      for (let j = 0; j < n; j++) this.ids[j] = tokens[i + j];
      this.chunk(n, i + n === tokens.length);
    }
    return this.s.logits;
  }

  /** Runs n (≤ PREFILL_CHUNK) tokens in this.ids at positions pos..pos+n-1; computes logits of the last if asked. */
  private chunk(n: number, wantLogits: boolean): void {
    const { nLayer: L, nEmbd: C, vocabSize: V } = this.model.config;
    const k = this.model.kernels;
    const p = this.model.params.tensors;
    const s = this.s;
    for (let j = 0; j < n; j++) {
      if (this.ids[j] < 0 || this.ids[j] >= V) throw new Error(`token id ${this.ids[j]} outside the vocabulary [0, ${V})`);
    }
    // x (n,C) = wte[ids] + wpe[pos..pos+n)
    encoderForward(s.x, this.ids, p.wte, p.wpe.subarray(this.pos * C), 1, n, C);
    for (let l = 0; l < L; l++) {
      const w = p.h[l];
      k.layernormForward(s.ln, s.mean, s.rstd, s.x, w.ln1w, w.ln1b, n, C, LN_EPS);
      linearForward(k, s.qkv, s.ln, w.qkvw, w.qkvb, n, C, 3 * C); // (n,C) -> (n,3C)
      this.attend(l, n); // (n,3C) + cache -> atty (n,C)
      linearForward(k, s.tmp, s.atty, w.attprojw, w.attprojb, n, C, C);
      k.add(s.x, s.x, s.tmp, n * C);
      k.layernormForward(s.ln, s.mean, s.rstd, s.x, w.ln2w, w.ln2b, n, C, LN_EPS);
      linearForward(k, s.fch, s.ln, w.fcw, w.fcb, n, C, 4 * C); // (n,C) -> (n,4C)
      k.geluForward(s.fchGelu, s.fch, n * 4 * C);
      linearForward(k, s.tmp, s.fchGelu, w.fcprojw, w.fcprojb, n, 4 * C, C); // (n,4C) -> (n,C)
      k.add(s.x, s.x, s.tmp, n * C);
    }
    this.pos += n;
    if (!wantLogits) return;
    const lastRow = s.x.subarray((n - 1) * C, n * C);
    k.layernormForward(s.ln, s.mean, s.rstd, lastRow, p.lnfw, p.lnfb, 1, C, LN_EPS);
    k.matmul(s.logits, s.ln, p.wte, 1, C, V, false, true, false); // (1,C) · wteᵀ -> (1,V)
  }

  /** Causal attention of the n new queries over the cache (their own keys/values appended first). */
  private attend(l: number, n: number): void {
    const { nHead: NH, nEmbd: C } = this.model.config;
    const hs = C / NH;
    const scale = 1 / Math.sqrt(hs);
    const { qkv, atty, scores } = this.s;
    const K = this.k[l];
    const Vc = this.v[l];
    for (let j = 0; j < n; j++) {
      const t = this.pos + j;
      K.set(qkv.subarray(j * 3 * C + C, j * 3 * C + 2 * C), t * C);
      Vc.set(qkv.subarray(j * 3 * C + 2 * C, j * 3 * C + 3 * C), t * C);
    }
    for (let j = 0; j < n; j++) {
      const t = this.pos + j;
      for (let h = 0; h < NH; h++) {
        const q = j * 3 * C + h * hs;
        let max = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const kk = t2 * C + h * hs;
          let dot = 0;
          for (let i = 0; i < hs; i++) dot += qkv[q + i] * K[kk + i];
          dot *= scale;
          scores[t2] = dot;
          if (dot > max) max = dot;
        }
        let sum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(scores[t2] - max);
          scores[t2] = e;
          sum += e;
        }
        const o = j * C + h * hs;
        for (let i = 0; i < hs; i++) atty[o + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const a = scores[t2] / sum;
          const vv = t2 * C + h * hs;
          for (let i = 0; i < hs; i++) atty[o + i] += a * Vc[vv + i];
        }
      }
    }
  }
}
