// The byte-level BPE tokenizer (OpenAI's GPT-2 encoder.py, tiktoken): text is cut into pieces by
// GPT-2's pattern, each piece's UTF-8 bytes start as one token each, and the adjacent pair with the
// lowest merge rank is merged until no pair has a rank. Results are cached per piece (bounded).
// Decoding concatenates token bytes and decodes UTF-8 with U+FFFD replacement.
import { utf8EncodeInto, maxUtf8Length, bytesToToken } from './bytes.js';
import { PairHeap } from './heap.js';
import { PairTable } from './pair-table.js';
import { hashRange, PieceCache } from './piece-cache.js';
import { pieceEnd } from './pretokenize.js';
import { EOT_TEXT, type BpeModel, type EncodeOptions, type StreamDecoder, type Tokenizer } from './types.js';

const NO_RANK = 0x7fffffff;
/** Pieces up to this many bytes merge by scanning an array; longer ones use a heap (O(n log n)). */
const SHORT_PIECE = 64;
/** Pieces longer than this (UTF-16 units) are not cached. */
const MAX_CACHED_PIECE = 256;

export interface BpeOptions {
  /** Pieces whose tokens are remembered before the cache is emptied (default 100 000). */
  cacheSize?: number;
}

export class BpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly eotToken: number;
  readonly model: BpeModel;

  private readonly byteIds = new Int32Array(256);
  private readonly ranks: PairTable; // (left, right) -> rank
  private readonly mergedIds: Int32Array; // rank -> merged id
  private readonly flat: Uint8Array; // all token bytes, token i at [offsets[i], offsets[i+1])
  private readonly offsets: Int32Array;
  private readonly specialPattern: RegExp | null;
  private readonly cache: PieceCache;
  private readonly heap = new PairHeap();
  private readonly utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  // Scratch for one piece: its bytes, its symbols, the ranks of adjacent symbol pairs.
  private bytes = new Uint8Array(maxUtf8Length(MAX_CACHED_PIECE));
  private syms = new Int32Array(maxUtf8Length(MAX_CACHED_PIECE));
  private pairRanks = new Int32Array(maxUtf8Length(MAX_CACHED_PIECE));

  /** Builds the tokenizer; throws an Error describing the first inconsistency in `model`. */
  constructor(model: BpeModel, opts: BpeOptions = {}) {
    this.model = model;
    this.cache = new PieceCache(opts.cacheSize ?? 100_000);
    const { tokens, merges, special } = model;
    this.vocabSize = tokens.length;
    for (let id = 0; id < tokens.length; id++) {
      if (!(tokens[id] instanceof Uint8Array)) throw new Error(`no token has id ${id} (ids must be 0..${tokens.length - 1} without gaps)`);
    }
    const eot = special.get(EOT_TEXT);
    if (eot === undefined) throw new Error(`the special token ${EOT_TEXT} is missing`);
    this.eotToken = eot;
    const specialIds = new Set(special.values());

    // (V+1) offsets into one flat byte table
    this.offsets = new Int32Array(tokens.length + 1);
    for (let id = 0; id < tokens.length; id++) this.offsets[id + 1] = this.offsets[id] + tokens[id].length;
    this.flat = new Uint8Array(this.offsets[tokens.length]);
    for (let id = 0; id < tokens.length; id++) this.flat.set(tokens[id], this.offsets[id]);

    this.byteIds.fill(-1);
    for (let id = 0; id < tokens.length; id++) {
      if (tokens[id].length === 1 && !specialIds.has(id) && this.byteIds[tokens[id][0]] === -1) this.byteIds[tokens[id][0]] = id;
    }
    const missing = this.byteIds.indexOf(-1);
    if (missing >= 0) {
      throw new Error(`no token for the single byte 0x${missing.toString(16).padStart(2, '0')} ('${bytesToToken([missing])}'): a byte-level vocabulary needs all 256`);
    }

    this.ranks = new PairTable(merges.length);
    this.mergedIds = new Int32Array(merges.length);
    for (let r = 0; r < merges.length; r++) {
      const [a, b, m] = merges[r];
      for (const id of [a, b, m]) {
        if (!Number.isInteger(id) || id < 0 || id >= tokens.length) throw new Error(`merge ${r + 1} refers to id ${id}, outside 0..${tokens.length - 1}`);
      }
      const ta = tokens[a];
      const tb = tokens[b];
      const tm = tokens[m];
      if (tm.length !== ta.length + tb.length || !startsWith(tm, ta, 0) || !startsWith(tm, tb, ta.length)) {
        throw new Error(`merge ${r + 1} ('${bytesToToken(ta)} ${bytesToToken(tb)}') does not make token ${m} ('${bytesToToken(tm)}')`);
      }
      this.ranks.add(a, b, r); // a repeated pair keeps its first (lowest) rank
      this.mergedIds[r] = m;
    }

    const names = [...special.keys()].sort((x, y) => y.length - x.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.specialPattern = names.length ? new RegExp(names.join('|'), 'g') : null;
  }

  encode(text: string, opts: EncodeOptions = {}): number[] {
    const out: number[] = [];
    const pattern = this.specialPattern;
    if (!opts.allowSpecial || pattern === null) {
      this.encodeOrdinary(text, 0, text.length, out);
      return out;
    }
    let last = 0;
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      this.encodeOrdinary(text, last, m.index, out);
      out.push(this.model.special.get(m[0]) as number);
      last = m.index + m[0].length;
    }
    this.encodeOrdinary(text, last, text.length, out);
    return out;
  }

  /** Appends the ids of text[start, end), all of it ordinary text, to `out`. */
  private encodeOrdinary(text: string, start: number, end: number, out: number[]): void {
    const s = start === 0 && end === text.length ? text : text.slice(start, end);
    const cache = this.cache;
    for (let i = 0, n = s.length; i < n; ) {
      const j = pieceEnd(s, i);
      if (j - i > MAX_CACHED_PIECE) {
        const count = this.bpe(s, i, j);
        for (let k = 0; k < count; k++) out.push(this.syms[k]);
      } else {
        const h = hashRange(s, i, j);
        let slot = cache.find(s, i, j, h);
        if (slot < 0) slot = cache.add(s, i, j, h, this.syms, this.bpe(s, i, j));
        const pool = cache.pool;
        for (let k = cache.start(slot), e = k + cache.len(slot); k < e; k++) out.push(pool[k]);
      }
      i = j;
    }
  }

  /** BPE of the piece s[i, j): leaves its ids in this.syms and returns their count. */
  private bpe(s: string, i: number, j: number): number {
    const cap = maxUtf8Length(j - i);
    if (this.bytes.length < cap) {
      this.bytes = new Uint8Array(cap);
      this.syms = new Int32Array(cap);
      this.pairRanks = new Int32Array(cap);
    }
    const m = utf8EncodeInto(s, i, j, this.bytes);
    for (let k = 0; k < m; k++) this.syms[k] = this.byteIds[this.bytes[k]];
    return m <= SHORT_PIECE ? this.mergeShort(m) : this.mergeLong(m);
  }

  private rank(a: number, b: number): number {
    const r = this.ranks.get(a, b);
    return r < 0 ? NO_RANK : r;
  }

  /** Merges syms[0, m) in place by scanning for the lowest-ranked pair; returns the new length. */
  private mergeShort(m: number): number {
    const s = this.syms;
    const r = this.pairRanks; // r[k]: rank of (s[k], s[k+1])
    for (let k = 0; k < m - 1; k++) r[k] = this.rank(s[k], s[k + 1]);
    while (m > 1) {
      let best = NO_RANK;
      let at = -1;
      for (let k = 0; k < m - 1; k++) {
        if (r[k] < best) {
          best = r[k];
          at = k;
        }
      }
      if (at < 0) break;
      s[at] = this.mergedIds[best];
      for (let k = at + 1; k < m - 1; k++) s[k] = s[k + 1];
      for (let k = at + 1; k < m - 2; k++) r[k] = r[k + 1];
      m--;
      if (at > 0) r[at - 1] = this.rank(s[at - 1], s[at]);
      if (at < m - 1) r[at] = this.rank(s[at], s[at + 1]);
    }
    return m;
  }

  /** Merges syms[0, m) in place with a linked list and a heap of (rank, position); returns the new length. */
  private mergeLong(m: number): number {
    const s = this.syms;
    const next = new Int32Array(m);
    const prev = new Int32Array(m);
    const r = this.pairRanks; // r[p]: rank of (s[p], s[next[p]])
    const heap = this.heap;
    heap.clear();
    for (let p = 0; p < m; p++) {
      next[p] = p + 1;
      prev[p] = p - 1;
      r[p] = p + 1 < m ? this.rank(s[p], s[p + 1]) : NO_RANK;
      if (r[p] !== NO_RANK) heap.push(r[p], p);
    }
    while (heap.size > 0) {
      const rk = heap.peekPriority() as number;
      const p = heap.peekKey() as number;
      heap.pop();
      if (s[p] < 0 || r[p] !== rk) continue; // stale entry
      const q = next[p];
      s[p] = this.mergedIds[rk];
      s[q] = -1;
      r[q] = NO_RANK;
      next[p] = next[q];
      if (next[p] < m) prev[next[p]] = p;
      r[p] = next[p] < m ? this.rank(s[p], s[next[p]]) : NO_RANK;
      if (r[p] !== NO_RANK) heap.push(r[p], p);
      const pp = prev[p];
      if (pp >= 0) {
        r[pp] = this.rank(s[pp], s[p]);
        if (r[pp] !== NO_RANK) heap.push(r[pp], pp);
      }
    }
    let n = 0;
    for (let p = 0; p < m; p = next[p]) s[n++] = s[p];
    return n;
  }

  private checkId(id: number): void {
    if (!(id >= 0 && id < this.vocabSize && Number.isInteger(id))) throw new RangeError(`token id ${id} is outside 0..${this.vocabSize - 1}`);
  }

  /** Bytes of one token (a view into the shared table; do not modify). */
  tokenBytes(id: number): Uint8Array {
    this.checkId(id);
    return this.flat.subarray(this.offsets[id], this.offsets[id + 1]);
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const { flat, offsets } = this;
    let total = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      this.checkId(id);
      total += offsets[id + 1] - offsets[id];
    }
    const out = new Uint8Array(total);
    for (let i = 0, o = 0; i < ids.length; i++) {
      for (let a = offsets[ids[i]], b = offsets[ids[i] + 1]; a < b; a++) out[o++] = flat[a];
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return this.utf8.decode(this.decodeBytes(ids));
  }

  createStreamDecoder(): StreamDecoder {
    const td = new TextDecoder('utf-8', { ignoreBOM: true });
    return {
      push: (id: number) => td.decode(this.tokenBytes(id), { stream: true }),
      flush: () => td.decode(),
    };
  }
}

function startsWith(hay: Uint8Array, needle: Uint8Array, at: number): boolean {
  for (let i = 0; i < needle.length; i++) if (hay[at + i] !== needle[i]) return false;
  return true;
}
