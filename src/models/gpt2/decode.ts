// Incremental GPT-2 inference with a KV cache (B=1), after llm.c's forward: feed() appends tokens (prefilled
// in chunks of PREFILL_CHUNK rows) and returns the last logits; the cache is kept per head (NH, capacity, hs) so
// a chunk's attention is two kernel matmuls per head. rewind()/copyFrom()/fork() let continuations share one
// prefill (row t of the cache depends only on tokens 0..t, so truncating it is exact); feedScored() scores them.
import type { FloatArray } from '../../kernels/types.js';
import { carve } from './activations.js';
import { encoderForward, linearForward, LN_EPS, type GPT2 } from './model.js';

export const PREFILL_CHUNK = 64;

export class KVDecoder {
  /** Tokens currently in the cache (= position of the next token). */
  pos = 0;
  readonly capacity: number;
  private readonly k: FloatArray[]; // per layer (NH, capacity, hs)
  private readonly v: FloatArray[]; // per layer (NH, capacity, hs)
  private readonly s: Record<'x' | 'ln' | 'qkv' | 'atty' | 'tmp' | 'fch' | 'fchGelu' | 'mean' | 'rstd' | 'q' | 'o' | 'scores' | 'logits', FloatArray>;
  private readonly ids = new Int32Array(PREFILL_CHUNK);
  /** (PREFILL_CHUNK, V) logits of every fed row, allocated on the first feedScored(). */
  private rowLogits: FloatArray | null = null;

  constructor(
    readonly model: GPT2,
    capacity = model.config.blockSize,
  ) {
    const { nLayer: L, nEmbd: C, vocabSize: V, blockSize } = model.config;
    this.capacity = Math.min(capacity, blockSize);
    const n = PREFILL_CHUNK;
    const cache = carve(model.alloc, Array.from({ length: 2 * L }, (_, i) => [String(i), this.capacity * C] as [string, number])); // (NH, capacity, hs) each
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
      ['q', n * (C / model.config.nHead)],
      ['o', n * (C / model.config.nHead)],
      ['scores', n * this.capacity],
      ['logits', V],
    ]);
  }

  reset(): void {
    this.pos = 0;
  }

  /**
   * Truncates the context to its first `pos` tokens (0 ≤ pos ≤ this.pos); the next feed() continues at
   * position pos exactly as if only those tokens had ever been fed.
   */
  rewind(pos: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos > this.pos) throw new Error(`KVDecoder.rewind: position ${pos} outside [0, ${this.pos}]`);
    this.pos = pos;
  }

  /** Makes this decoder's context a copy of `src`'s (same model shape; capacity ≥ src.pos). No allocation. */
  copyFrom(src: KVDecoder): void {
    const { nLayer: L, nEmbd: C, nHead: NH } = this.model.config;
    const s = src.model.config;
    if (s.nLayer !== L || s.nEmbd !== C || s.nHead !== NH) throw new Error('KVDecoder.copyFrom: decoders of different model shapes');
    if (src.pos > this.capacity) throw new Error(`KVDecoder.copyFrom: ${src.pos} tokens do not fit a capacity of ${this.capacity}`);
    const hs = C / NH;
    const n = src.pos * hs;
    for (let l = 0; l < L; l++) {
      for (let h = 0; h < NH; h++) {
        this.k[l].set(src.k[l].subarray(h * src.capacity * hs, h * src.capacity * hs + n), h * this.capacity * hs);
        this.v[l].set(src.v[l].subarray(h * src.capacity * hs, h * src.capacity * hs + n), h * this.capacity * hs);
      }
    }
    this.pos = src.pos;
  }

  /** A new decoder (its own cache, allocated from the model's allocator) holding a copy of this context. */
  fork(): KVDecoder {
    const d = new KVDecoder(this.model, this.capacity);
    d.copyFrom(this);
    return d;
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

  /**
   * Teacher-forced scoring: appends all but the last of `tokens` and returns Σ_{i≥1} log p(tokens[i] |
   * context, tokens[0..i)), the log-likelihood of every token after the first (the first one's comes from
   * the logits before this call, see logProbOf). The last token is only scored, so a sequence may end one
   * past the capacity. Leaves no logits: feed() or rewind() next.
   */
  feedScored(tokens: ArrayLike<number>): number {
    const n = tokens.length - 1; // tokens fed; each row predicts the next token
    if (n < 1) throw new Error('KVDecoder.feedScored: needs at least two tokens (a context token and one to score)');
    if (this.pos + n > this.capacity) throw new Error(`KVDecoder.feedScored: context would exceed ${this.capacity} tokens`);
    const { nEmbd: C, vocabSize: V } = this.model.config;
    const k = this.model.kernels;
    const p = this.model.params.tensors;
    const s = this.s;
    this.rowLogits ??= this.model.alloc(PREFILL_CHUNK * V);
    const logits = this.rowLogits;
    let sum = 0;
    for (let i = 0; i < n; i += PREFILL_CHUNK) {
      const rows = Math.min(PREFILL_CHUNK, n - i);
      for (let j = 0; j < rows; j++) this.ids[j] = tokens[i + j];
      this.chunk(rows, false);
      k.layernormForward(s.ln, s.mean, s.rstd, s.x, p.lnfw, p.lnfb, rows, C, LN_EPS);
      k.matmul(logits, s.ln, p.wte, rows, C, V, false, true, false); // (rows,C) · wteᵀ -> (rows,V)
      for (let j = 0; j < rows; j++) sum += logProbOf(logits.subarray(j * V, (j + 1) * V), tokens[i + j + 1]);
    }
    return sum;
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
    const k = this.model.kernels;
    const hs = C / NH;
    const cap = this.capacity;
    const scale = 1 / Math.sqrt(hs);
    const { qkv, atty, q, o, scores } = this.s;
    const end = this.pos + n; // keys 0..end-1 after appending
    for (let h = 0; h < NH; h++) {
      const K = this.k[l].subarray(h * cap * hs, (h * cap + end) * hs); // (end, hs)
      const V = this.v[l].subarray(h * cap * hs, (h * cap + end) * hs); // (end, hs)
      for (let j = 0; j < n; j++) {
        const r = j * 3 * C + h * hs;
        const t = (this.pos + j) * hs;
        for (let i = 0; i < hs; i++) {
          q[j * hs + i] = qkv[r + i] * scale;
          K[t + i] = qkv[r + C + i];
          V[t + i] = qkv[r + 2 * C + i];
        }
      }
      k.matmul(scores, q, K, n, hs, end, false, true, false); // (n,hs) · (end,hs)ᵀ -> (n,end)
      for (let j = 0; j < n; j++) {
        // query j sees keys 0..pos+j; the rest of its row gets weight 0
        const row = j * end;
        const last = this.pos + j;
        let max = -Infinity;
        for (let t2 = 0; t2 <= last; t2++) if (scores[row + t2] > max) max = scores[row + t2];
        let sum = 0;
        for (let t2 = 0; t2 <= last; t2++) {
          const e = Math.exp(scores[row + t2] - max);
          scores[row + t2] = e;
          sum += e;
        }
        const inv = 1 / sum;
        for (let t2 = 0; t2 <= last; t2++) scores[row + t2] *= inv;
        for (let t2 = last + 1; t2 < end; t2++) scores[row + t2] = 0;
      }
      k.matmul(o, scores, V, n, end, hs, false, false, false); // (n,end) · (end,hs) -> (n,hs)
      for (let j = 0; j < n; j++) for (let i = 0; i < hs; i++) atty[j * C + h * hs + i] = o[j * hs + i];
    }
  }
}

// one cache per model, reused by generation and evaluation (its buffers live in the model's allocator)
const decoders = new WeakMap<GPT2, KVDecoder>();

/** The model's shared decoder (whole context), created on first use; callers reset() or rewind() it. */
export function sharedDecoder(model: GPT2): KVDecoder {
  let d = decoders.get(model);
  if (!d) {
    d = new KVDecoder(model);
    decoders.set(model, d);
  }
  return d;
}

/** log softmax(logits)[id], computed stably in float64. */
export function logProbOf(logits: ArrayLike<number>, id: number): number {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i] - max);
  return logits[id] - max - Math.log(sum);
}
