// Next-token sampling from logits: repetition penalty (CTRL, Keskar et al. 2019: positive logits divided,
// negative multiplied), temperature (0 = greedy), top-k, nucleus top-p (Holtzman et al. 2019), then one draw
// from a seeded Rng. A Sampler keeps its scratch buffers so decoding does not allocate per token.
import type { FloatArray } from '../../kernels/types.js';
import type { Rng } from '../../util/rng.js';

export interface SamplingOptions {
  /** Softmax temperature; 0 picks the most likely token. Default 1. */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = off). */
  topK?: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p (1 = off). */
  topP?: number;
  /** > 1 discourages tokens already in the context (1 = off). */
  repetitionPenalty?: number;
}

export function checkSamplingOptions(o: SamplingOptions): void {
  const { temperature = 1, topK = 0, topP = 1, repetitionPenalty = 1 } = o;
  if (!(temperature >= 0)) throw new RangeError(`temperature must be ≥ 0, got ${temperature}`);
  if (!Number.isInteger(topK) || topK < 0) throw new RangeError(`top-k must be a whole number ≥ 0, got ${topK}`);
  if (!(topP > 0 && topP <= 1)) throw new RangeError(`top-p must be in (0, 1], got ${topP}`);
  if (!(repetitionPenalty > 0)) throw new RangeError(`repetition penalty must be > 0, got ${repetitionPenalty}`);
}

export class Sampler {
  private readonly work: Float64Array;
  private readonly sorted: Float64Array;
  private readonly seen: Uint8Array;

  constructor(
    readonly vocabSize: number,
    readonly opts: SamplingOptions = {},
  ) {
    checkSamplingOptions(opts);
    this.work = new Float64Array(vocabSize);
    this.sorted = new Float64Array(vocabSize);
    this.seen = new Uint8Array(vocabSize);
  }

  /** Picks the next token from logits (V); `context` are the tokens so far (for the repetition penalty). */
  sample(logits: FloatArray, rng: Rng, context: ArrayLike<number> = []): number {
    const V = this.vocabSize;
    const { temperature = 1, topK = 0, topP = 1, repetitionPenalty = 1 } = this.opts;
    const x = this.work;
    for (let i = 0; i < V; i++) x[i] = logits[i];
    if (repetitionPenalty !== 1) {
      this.seen.fill(0);
      for (let i = 0; i < context.length; i++) {
        const t = context[i];
        if (t < 0 || t >= V || this.seen[t]) continue;
        this.seen[t] = 1;
        x[t] = x[t] > 0 ? x[t] / repetitionPenalty : x[t] * repetitionPenalty;
      }
    }
    if (temperature === 0) return argmax(x);
    // softmax(x / temperature), masked to the top-k
    let cut = -Infinity;
    if (topK > 0 && topK < V) cut = this.kthLargest(x, topK);
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (x[i] > max) max = x[i];
    let sum = 0;
    for (let i = 0; i < V; i++) {
      const e = x[i] >= cut ? Math.exp((x[i] - max) / temperature) : 0;
      x[i] = e;
      sum += e;
    }
    if (topP < 1) {
      const pcut = this.nucleusCut(x, topP * sum);
      sum = 0;
      for (let i = 0; i < V; i++) {
        if (x[i] < pcut) x[i] = 0;
        sum += x[i];
      }
    }
    let r = rng.random() * sum;
    let lastNonZero = 0;
    for (let i = 0; i < V; i++) {
      if (x[i] === 0) continue;
      lastNonZero = i;
      r -= x[i];
      if (r < 0) return i;
    }
    return lastNonZero; // rounding left r ≥ 0 after the last token
  }

  /** The k-th largest value of x: quickselect on a scratch copy, O(V) per token instead of sorting V. */
  private kthLargest(x: Float64Array, k: number): number {
    const s = this.sorted;
    s.set(x);
    const want = s.length - k; // its index in ascending order
    let lo = 0;
    let hi = s.length - 1;
    while (lo < hi) {
      // Hoare partition: afterwards s[lo..j] ≤ pivot ≤ s[i..hi] and everything between equals pivot
      const pivot = s[(lo + hi) >>> 1];
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (s[i] < pivot) i++;
        while (s[j] > pivot) j--;
        if (i <= j) {
          const t = s[i];
          s[i++] = s[j];
          s[j--] = t;
        }
      }
      if (want <= j) hi = j;
      else if (want >= i) lo = i;
      else break;
    }
    return s[want];
  }

  /**
   * The smallest weight of the nucleus: walking down from the largest weight, the first at which the running
   * sum reaches mass. Only the non-zero weights are sorted (after top-k, a handful).
   */
  private nucleusCut(x: Float64Array, mass: number): number {
    let m = 0;
    for (let i = 0; i < x.length; i++) if (x[i] > 0) this.sorted[m++] = x[i];
    const s = this.sorted.subarray(0, m).sort(); // ascending
    let acc = 0;
    for (let i = m - 1; i >= 0; i--) {
      acc += s[i];
      if (acc >= mass) return s[i];
    }
    return s[0];
  }
}

export function argmax(x: ArrayLike<number>): number {
  let best = 0;
  let max = x[0];
  for (let i = 1; i < x.length; i++) {
    const v = x[i];
    if (v > max) {
      max = v;
      best = i;
    }
  }
  return best;
}
