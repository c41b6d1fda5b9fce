// KV-cache decoding of GPT-2 (batch 1), shared by the training model's KVDecoder (decode.ts) and the deployment
// runtime (src/runtime), which differ only in how weights are held (f32, or int8 with scales) and multiplied.
// feed() appends tokens at the next positions in chunks of up to PREFILL_CHUNK rows (prefill), writing each
// layer's keys and values into the cache, and returns the logits after the last one; one block is llm.c's
// block forward with attention over the cached keys/values. The cache remembers its tokens, so a new prompt can
// keep the prefix it shares with the cached one (rewindToShared), and scoreBranches() scores several
// continuations of one context side by side in one chunk (each attends to the context and to itself), with one
// pass of the weights and of the LM head for all of them.
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { ref } from '../../kernels/ref.js';
import { hasAttentionDecode } from '../../kernels/wasm/index.js';
import { carve } from './activations.js';
import { LN_EPS, type GPT2Config } from './config.js';
import type { Allocator, Block } from './params.js';

export const PREFILL_CHUNK = 256;
/** Rows whose logits are held at once when scoring (feedScored, scoreBranches): SCORE_ROWS·V floats. */
export const SCORE_ROWS = 64;

/** out(n,OC) = inp(n,IC)·wᵀ + bias, for a weight held as M. */
export type LinearFn<M> = (out: FloatArray, inp: FloatArray, w: M, bias: FloatArray, n: number, IC: number, OC: number) => void;

export type DecodeScratchName = 'x' | 'ln' | 'qkv' | 'atty' | 'tmp' | 'fch' | 'fchGelu' | 'mean' | 'rstd' | 'scores';
export type DecodeScratch = Record<DecodeScratchName, FloatArray>;

/** Sizes of the scratch views for chunks of up to n tokens, NH heads and a cache of `capacity` positions (for carve). */
export function decodeScratchSizes(n: number, C: number, NH: number, capacity: number): [DecodeScratchName, number][] {
  return [
    ['x', n * C],
    ['ln', n * C],
    ['qkv', n * 3 * C],
    ['atty', n * C],
    ['tmp', n * C],
    ['fch', n * 4 * C],
    ['fchGelu', n * 4 * C],
    ['mean', n],
    ['rstd', n],
    ['scores', NH * capacity],
  ];
}

/**
 * The decoding loop over a model whose matrices are held as M: subclasses say how the embedding, the linear
 * layers and the LM head compute. The cache and scratch come from `alloc` (the arena, for the fast kernels).
 */
export abstract class CacheDecoder<M> {
  /** Tokens currently in the cache (= position of the next token). */
  pos = 0;
  readonly capacity: number;
  protected readonly kCache: FloatArray[]; // per layer (capacity, C)
  protected readonly vCache: FloatArray[]; // per layer (capacity, C)
  protected readonly s: DecodeScratch & { logits: FloatArray };
  protected readonly ids = new Int32Array(PREFILL_CHUNK);
  /** The token at each cached position (held[0..pos)), for rewindToShared(). */
  private readonly held: Int32Array;
  /** Scoring: (SCORE_ROWS, C) final-layernorm rows waiting for the LM head and their (SCORE_ROWS, V) logits (allocated on first use), and the (row, branch, token) targets they predict. */
  private scoreX: FloatArray | null = null;
  private rowLogits: FloatArray | null = null;
  private scoreRows = 0;
  private readonly targets: ScoreTarget[] = [];

  constructor(
    readonly config: GPT2Config,
    private readonly alloc: Allocator,
    capacity: number,
  ) {
    const { nLayer: L, nEmbd: C, vocabSize: V, blockSize } = config;
    this.capacity = Math.min(capacity, blockSize);
    const cache = carve(alloc, Array.from({ length: 2 * L }, (_, i) => [String(i), this.capacity * C] as [string, number]));
    this.kCache = Array.from({ length: L }, (_, l) => cache[String(2 * l)]);
    this.vCache = Array.from({ length: L }, (_, l) => cache[String(2 * l + 1)]);
    this.s = carve<keyof typeof this.s>(alloc, [...decodeScratchSizes(PREFILL_CHUNK, C, config.nHead, this.capacity), ['logits', V]]);
    this.held = new Int32Array(this.capacity);
  }

  /** The kernels the layers run on. */
  protected abstract kernels(): Kernels;
  /** x(n,C) = wte[ids[0..n)] + wpe[pos..pos+n). */
  protected abstract embed(x: FloatArray, ids: Int32Array, n: number, pos: number): void;
  /** Block l's weights. */
  protected abstract block(l: number): Block<M, FloatArray>;
  protected abstract readonly linear: LinearFn<M>;
  /** Final layernorm weight and bias (C). */
  protected abstract lnf(): [FloatArray, FloatArray];
  /** logits(rows,V) = x(rows,C)·wteᵀ (the tied LM head). */
  protected abstract lmHead(logits: FloatArray, x: FloatArray, rows: number): void;

  reset(): void {
    this.pos = 0;
  }

  /**
   * Truncates the context to its first `pos` tokens (0 ≤ pos ≤ this.pos); the next feed() continues at position
   * pos exactly as if only those tokens had been fed (the cache row of position t depends only on tokens 0..t).
   */
  rewind(pos: number): void {
    if (!Number.isInteger(pos) || pos < 0 || pos > this.pos) throw new RangeError(`rewind: position ${pos} outside [0, ${this.pos}]`);
    this.pos = pos;
  }

  /** Makes this decoder's context a copy of `src`'s (same model shape, capacity ≥ src.pos). No allocation. */
  copyFrom(src: CacheDecoder<M>): void {
    const { nLayer: L, nEmbd: C } = this.config;
    if (src.config.nLayer !== L || src.config.nEmbd !== C) throw new Error('copyFrom: decoders of different model shapes');
    if (src.pos > this.capacity) throw new Error(`copyFrom: ${src.pos} tokens do not fit a capacity of ${this.capacity}`);
    for (let l = 0; l < L; l++) {
      this.kCache[l].set(src.kCache[l].subarray(0, src.pos * C));
      this.vCache[l].set(src.vCache[l].subarray(0, src.pos * C));
    }
    this.held.set(src.held.subarray(0, src.pos));
    this.pos = src.pos;
  }

  /** The tokens in the cache, by position (a view, valid until the next feed). */
  get tokens(): Int32Array {
    return this.held.subarray(0, this.pos);
  }

  /**
   * Rewinds the cache to the longest prefix of `tokens` it holds, at most `max` tokens, and returns that length:
   * feeding the rest of a new prompt then pays only for what it does not share with the cached one (rows of a
   * task share an instruction). The cache must come from the current weights: after the weights change
   * (training), reset() first.
   */
  rewindToShared(tokens: ArrayLike<number>, max = tokens.length): number {
    const keep = Math.min(max, tokens.length, this.pos);
    let same = 0;
    while (same < keep && this.held[same] === tokens[same]) same++;
    this.pos = same;
    return same;
  }

  /** Logits after the last token fed (valid until the next feed). */
  get logits(): FloatArray {
    return this.s.logits;
  }

  /** Appends tokens to the context and returns the logits (V) for the token after the last one. */
  feed(tokens: ArrayLike<number>): FloatArray {
    if (tokens.length === 0) throw new Error('feed: no tokens');
    if (this.pos + tokens.length > this.capacity) {
      throw new Error(`feed: context would exceed ${this.capacity} tokens; reset() and feed the tail`);
    }
    this.run(tokens, true);
    return this.s.logits;
  }

  /** Appends tokens to the context without computing logits (a prefill before scoring: feed() or scoreBranches() next). */
  append(tokens: ArrayLike<number>): void {
    if (this.pos + tokens.length > this.capacity) throw new Error(`append: context would exceed ${this.capacity} tokens`);
    this.run(tokens, false);
  }

  /** Runs tokens at the next positions in chunks, with the logits of the last one if asked. */
  private run(tokens: ArrayLike<number>, wantLogits: boolean): void {
    for (let i = 0; i < tokens.length; i += PREFILL_CHUNK) {
      const n = Math.min(PREFILL_CHUNK, tokens.length - i);
      for (let j = 0; j < n; j++) this.ids[j] = tokens[i + j];
      this.chunk(n, wantLogits && i + n === tokens.length);
    }
  }

  /**
   * Teacher-forced scoring: appends all but the last of `tokens` and returns Σ_{i≥1} log p(tokens[i] | context,
   * tokens[0..i)), the log-likelihood of every token after the first (the first one's comes from the logits
   * before this call, see logProbOf; perplexity). The last token is only scored, so a sequence may end one past
   * the capacity, as a training sequence of capacity + 1 tokens does. Leaves no logits: feed() or rewind() next.
   */
  feedScored(tokens: ArrayLike<number>): number {
    const n = tokens.length - 1; // tokens fed; each row predicts the next token
    if (n < 1) throw new Error('feedScored: needs at least two tokens (a context token and one to score)');
    if (this.pos + n > this.capacity) throw new Error(`feedScored: context would exceed ${this.capacity} tokens`);
    const out = branchScores(1, null);
    this.scoreRun(tokens, 0, n, 0, out, 0);
    this.flushScores(out, 0);
    return out.scores[0];
  }

  /**
   * Scores continuations of the context: feeds `first`, then each branch b after it, and returns per branch
   * Σ_i log p(b[i] | context, first, b[0..i)), the same sum over its first `leading[b]` tokens only (all of them
   * without `leading`), and whether every b[i] was the most likely token below `vocab` (then greedy decoding from
   * context + first writes b). The branches run side by side in one chunk (per SCORE_ROWS rows): each attends to
   * the context, `first` and its own earlier tokens only, so the weights stream once for all of them, and all rows
   * go through the LM head together. A branch's last token is only scored, so context + first + branch may end one
   * past the capacity. Leaves context + first in the cache, no logits.
   */
  scoreBranches(first: number, branches: readonly ArrayLike<number>[], vocab = this.config.vocabSize, leading?: readonly number[]): BranchScores {
    const base = this.pos + 1;
    if (base > this.capacity) throw new Error(`scoreBranches: context would exceed ${this.capacity} tokens`);
    if (!(vocab >= 1)) throw new RangeError(`scoreBranches: vocab must be ≥ 1, got ${vocab}`);
    const V = this.config.vocabSize;
    const inVocab = (id: number) => id >= 0 && id < V;
    for (const b of branches) {
      if (b.length === 0) throw new Error('scoreBranches: empty branch');
      if (base + b.length - 1 > this.capacity) throw new Error(`scoreBranches: context + branch (${base + b.length} tokens) exceed the context of ${this.capacity} + 1`);
      if (!Array.prototype.every.call(b, inVocab)) throw new Error(`scoreBranches: a branch has a token id outside the vocabulary [0, ${V})`);
    }
    if (!inVocab(first)) throw new Error(`scoreBranches: token id ${first} outside the vocabulary [0, ${V})`);
    if (leading && leading.length !== branches.length) throw new Error(`scoreBranches: ${leading.length} leading counts for ${branches.length} branches`);
    const out = branchScores(branches.length, leading ?? null);
    // segments of one tree chunk: `first` at the context's end, then each branch's fed tokens at base..
    const segs: Segment[] = [{ row: 0, n: 1, at: this.pos }];
    this.ids[0] = first;
    this.held[this.pos] = first;
    this.pos = base; // context + first stays; the branches' cache rows after it are scratch
    branches.forEach((b, bi) => this.targets.push({ row: 0, branch: bi, index: 0, token: b[0] }));
    let rows = 1;
    branches.forEach((b, bi) => {
      const m = b.length - 1; // rows fed; row i predicts b[i + 1]
      if (m === 0) return;
      if (m > SCORE_ROWS) {
        // longer than a whole chunk: fed on its own, in order
        this.treeChunk(rows, segs, out, vocab);
        [segs.length, rows] = [0, 0];
        this.pos = base;
        this.scoreRun(b, 0, m, bi, out, vocab);
        this.flushScores(out, vocab);
        return;
      }
      if (rows + m > SCORE_ROWS) {
        this.treeChunk(rows, segs, out, vocab);
        [segs.length, rows] = [0, 0];
      }
      segs.push({ row: rows, n: m, at: base });
      for (let i = 0; i < m; i++) {
        this.ids[rows + i] = b[i];
        this.targets.push({ row: rows + i, branch: bi, index: i + 1, token: b[i + 1] });
      }
      rows += m;
    });
    this.treeChunk(rows, segs, out, vocab);
    this.pos = base;
    return out;
  }

  /**
   * Runs the `rows` tokens in this.ids (checked by the caller) as the given segments (each at its own positions,
   * attending to the cache before its first position and to itself), queues their final-layernorm rows for the LM
   * head and flushes them with the targets queued for them. Leaves this.pos alone.
   */
  private treeChunk(rows: number, segs: readonly Segment[], out: BranchScores, vocab: number): void {
    if (rows === 0) return;
    const { nLayer: L, nEmbd: C, nHead } = this.config;
    this.scoreX ??= this.alloc(SCORE_ROWS * C);
    const k = this.kernels();
    for (const g of segs) this.embed(this.s.x.subarray(g.row * C), this.ids.subarray(g.row), g.n, g.at);
    for (let l = 0; l < L; l++) blockDecode(k, this.s, this.block(l), this.linear, this.kCache[l], this.vCache[l], segs, rows, C, nHead);
    const [w, b] = this.lnf();
    k.layernormForward(this.scoreX, this.s.mean, this.s.rstd, this.s.x, w, b, rows, C, LN_EPS);
    this.scoreRows = rows;
    this.flushScores(out, vocab);
  }

  /**
   * Runs tokens[from..from+n) at the next positions and queues their final-layernorm rows for the LM head; row i
   * predicts tokens[from+i+1] for `branch` (none when branch < 0). Flushes when the queue is full.
   */
  private scoreRun(tokens: ArrayLike<number>, from: number, n: number, branch: number, out: BranchScores, vocab: number): void {
    const C = this.config.nEmbd;
    this.scoreX ??= this.alloc(SCORE_ROWS * C);
    const [w, b] = this.lnf();
    for (let i = 0; i < n; ) {
      if (this.scoreRows === SCORE_ROWS) this.flushScores(out, vocab);
      const m = Math.min(PREFILL_CHUNK, SCORE_ROWS - this.scoreRows, n - i);
      for (let j = 0; j < m; j++) this.ids[j] = tokens[from + i + j];
      this.chunk(m, false);
      this.kernels().layernormForward(this.scoreX.subarray(this.scoreRows * C), this.s.mean, this.s.rstd, this.s.x, w, b, m, C, LN_EPS);
      if (branch >= 0) for (let j = 0; j < m; j++) this.targets.push({ row: this.scoreRows + j, branch, index: from + i + j + 1, token: tokens[from + i + j + 1] });
      this.scoreRows += m;
      i += m;
    }
  }

  /** One LM-head pass over the queued rows; adds each target's log-probability (and, when vocab > 0, whether it was the argmax below vocab) to its branch. */
  private flushScores(out: BranchScores, vocab: number): void {
    const V = this.config.vocabSize;
    const rows = this.scoreRows;
    if (rows === 0 || !this.scoreX) return;
    const logits = (this.rowLogits ??= this.alloc(SCORE_ROWS * V));
    this.lmHead(logits, this.scoreX, rows); // (rows,C) · wteᵀ -> (rows,V)
    const lse = new Float64Array(rows);
    this.kernels().logSumExp(lse, logits, rows, V);
    const best = new Int32Array(rows);
    if (vocab > 0) for (let r = 0; r < rows; r++) best[r] = argmaxBelow(logits.subarray(r * V, (r + 1) * V), vocab);
    for (const t of this.targets) {
      const lp = logits[t.row * V + t.token] - lse[t.row];
      out.scores[t.branch] += lp;
      if (out.leading === null || t.index < out.leading[t.branch]) out.leadingScores[t.branch] += lp;
      if (vocab > 0 && best[t.row] !== t.token) out.greedy[t.branch] = false;
    }
    this.targets.length = 0;
    this.scoreRows = 0;
  }

  /** Throws unless this.ids[0..n) are token ids of the vocabulary. */
  private checkIds(n: number): void {
    const V = this.config.vocabSize;
    for (let j = 0; j < n; j++) {
      if (!(this.ids[j] >= 0 && this.ids[j] < V)) throw new Error(`token id ${this.ids[j]} outside the vocabulary [0, ${V})`);
    }
  }

  /** Runs n (≤ PREFILL_CHUNK) tokens in this.ids at positions pos..pos+n-1; computes logits of the last if asked. */
  protected chunk(n: number, wantLogits: boolean): void {
    const { nLayer: L, nEmbd: C, nHead } = this.config;
    const k = this.kernels();
    const s = this.s;
    this.checkIds(n);
    this.embed(s.x, this.ids, n, this.pos);
    this.held.set(this.ids.subarray(0, n), this.pos);
    const segs = [{ row: 0, n, at: this.pos }];
    for (let l = 0; l < L; l++) blockDecode(k, s, this.block(l), this.linear, this.kCache[l], this.vCache[l], segs, n, C, nHead);
    this.pos += n;
    if (!wantLogits) return;
    const [w, b] = this.lnf();
    k.layernormForward(s.ln, s.mean, s.rstd, s.x.subarray((n - 1) * C, n * C), w, b, 1, C, LN_EPS);
    this.lmHead(s.logits, s.ln, 1); // (1,C) · wteᵀ -> (1,V)
  }
}

/** A queued LM-head row `row` predicts `token`, the `index`-th token of branch `branch`. */
interface ScoreTarget {
  row: number;
  branch: number;
  index: number;
  token: number;
}

/** Rows row..row+n of a chunk run at positions at..at+n, attending to cache positions [0, at) and to themselves. */
export interface Segment {
  row: number;
  n: number;
  at: number;
}

/** Per branch: Σ log p of its tokens, of its first `leading` ones (all when null), and whether each was the most likely one. */
export interface BranchScores {
  scores: Float64Array;
  leadingScores: Float64Array;
  leading: readonly number[] | null;
  greedy: boolean[];
}

function branchScores(n: number, leading: readonly number[] | null): BranchScores {
  return { scores: new Float64Array(n), leadingScores: new Float64Array(n), leading, greedy: Array.from({ length: n }, () => true) };
}

/** log softmax(logits)[id], computed stably in float64 (ref's log-sum-exp). */
export function logProbOf(logits: FloatArray, id: number): number {
  const lse = new Float64Array(1);
  ref.logSumExp(lse, logits, 1, logits.length);
  return logits[id] - lse[0];
}

/** Index of the largest of logits[0..vocab) (ties: the first), as greedy sampling picks. */
function argmaxBelow(logits: ArrayLike<number>, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/**
 * Runs block `w` on s.x (n,C) in place; each segment's rows write their keys/values into the layer's cache kc/vc
 * (capacity, C) at their positions and attend to the cache before them (segments later in the list overwrite the
 * cache rows of earlier ones at the same positions: branches scored side by side).
 */
export function blockDecode<M>(
  k: Kernels, s: DecodeScratch, w: Block<M, FloatArray>, linear: LinearFn<M>,
  kc: FloatArray, vc: FloatArray, segs: readonly Segment[], n: number, C: number, NH: number,
): void {
  k.layernormForward(s.ln, s.mean, s.rstd, s.x, w.ln1w, w.ln1b, n, C, LN_EPS);
  linear(s.qkv, s.ln, w.qkvw, w.qkvb, n, C, 3 * C); // (n,C) -> (n,3C)
  for (const g of segs) attendCached(k, s, kc, vc, g, C, NH); // (n,3C) + cache -> atty (n,C)
  linear(s.tmp, s.atty, w.attprojw, w.attprojb, n, C, C);
  k.add(s.x, s.x, s.tmp, n * C);
  k.layernormForward(s.ln, s.mean, s.rstd, s.x, w.ln2w, w.ln2b, n, C, LN_EPS);
  linear(s.fch, s.ln, w.fcw, w.fcb, n, C, 4 * C); // (n,C) -> (n,4C)
  k.geluForward(s.fchGelu, s.fch, n * 4 * C);
  linear(s.tmp, s.fchGelu, w.fcprojw, w.fcprojb, n, 4 * C, C); // (n,4C) -> (n,C)
  k.add(s.x, s.x, s.tmp, n * C);
}

/**
 * Causal attention of a segment's queries in s.qkv over the cache (their own keys/values written at their
 * positions first): the wasm tier's attentionDecode when it takes the arrays, else plain loops.
 */
function attendCached(k: Kernels, s: DecodeScratch, K: FloatArray, Vc: FloatArray, seg: Segment, C: number, NH: number): void {
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  const { qkv: rowsQkv, atty: rowsAtty, scores } = s;
  const { n, at: pos } = seg;
  const qkv = rowsQkv.subarray(seg.row * 3 * C);
  const atty = rowsAtty.subarray(seg.row * C);
  for (let j = 0; j < n; j++) {
    const t = pos + j;
    K.set(qkv.subarray(j * 3 * C + C, j * 3 * C + 2 * C), t * C);
    Vc.set(qkv.subarray(j * 3 * C + 2 * C, j * 3 * C + 3 * C), t * C);
  }
  if (hasAttentionDecode(k) && k.attentionDecode(atty, qkv, K, Vc, scores, pos, C, NH, n)) return;
  for (let j = 0; j < n; j++) {
    const t = pos + j;
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
