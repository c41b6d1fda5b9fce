// Byte-level BPE training (Sennrich et al.; GPT-2 / Hugging Face ByteLevelBPETrainer): count GPT-2
// pieces in the user's text (streamed), then repeatedly merge the most frequent adjacent token pair
// inside pieces until the vocabulary is full. Ids 0..255 are the bytes in GPT-2's order, merges follow,
// <|endoftext|> is last. Ties go to the pair with the smaller ids, so training is deterministic.
import * as fs from 'node:fs';
import { BYTE_ORDER, maxUtf8Length, utf8EncodeInto } from './bytes.js';
import { PairHeap } from './heap.js';
import { pieceEnd } from './pretokenize.js';
import { EOT_TEXT, type BpeModel, type Tokenizer } from './types.js';

/** Counts GPT-2 pieces of text that arrives in chunks (a piece may straddle two chunks). */
export class PieceCounter {
  readonly counts = new Map<string, number>();
  /** The last piece of the previous chunk, which the next chunk may extend. */
  private carry = '';

  /**
   * @param maxPieces when more distinct pieces than this are held, the rarest are dropped down to half
   *   (counts become approximate for rare pieces; memory stays bounded on huge inputs)
   */
  constructor(private readonly maxPieces = 2_000_000) {}

  /** Counts the pieces of `chunk`; the last one waits for the next chunk unless `final`. */
  add(chunk: string, final = false): void {
    let text = this.carry + chunk;
    // A chunk cut inside a surrogate pair: keep the high half back so it is not classed alone.
    const last = text.charCodeAt(text.length - 1);
    const half = !final && last >= 0xd800 && last <= 0xdbff ? text.slice(-1) : '';
    if (half) text = text.slice(0, -1);
    this.carry = half;
    for (let i = 0; i < text.length; ) {
      const j = pieceEnd(text, i);
      if (j === text.length && !final) {
        this.carry = text.slice(i) + half;
        break;
      }
      this.addPiece(text.slice(i, j), 1);
      i = j;
    }
  }

  addPiece(piece: string, n: number): void {
    this.counts.set(piece, (this.counts.get(piece) ?? 0) + n);
    if (this.counts.size > this.maxPieces) this.prune();
  }

  /** Drops the rarest pieces (seen once, then twice, ...) until at most half of maxPieces remain. */
  private prune(): void {
    for (let t = 1; this.counts.size > this.maxPieces / 2; t++) {
      for (const [p, c] of this.counts) if (c <= t) this.counts.delete(p);
    }
  }
}

/** Total tokens of counted pieces under a tokenizer (each distinct piece encoded once). */
export function tokensOfPieces(tok: Tokenizer, counts: Map<string, number>): number {
  let n = 0;
  for (const [piece, c] of counts) n += c * tok.encode(piece).length;
  return n;
}

export interface BpeTrainOptions {
  /** Total vocabulary size: 256 bytes + merges + <|endoftext|> (at least 257). */
  vocabSize: number;
  /** Pairs seen fewer times than this are not merged (default 2). */
  minFrequency?: number;
  /** Called after each merge. */
  onMerge?: (done: number, target: number) => void;
  /** Checked after each merge; true stops training early with the merges made so far. */
  shouldStop?: () => boolean;
}

const ID_BITS = 2 ** 21; // pair key = left * ID_BITS + right (ids < 2M)

/** Learns merges from piece counts; returns the model (tokens by id, merges, <|endoftext|>). */
export function trainBpe(counts: Map<string, number>, opts: BpeTrainOptions): BpeModel {
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < 257 || opts.vocabSize >= ID_BITS) {
    throw new RangeError(`vocabSize must be an integer in 257..${ID_BITS - 1} (256 bytes + merges + ${EOT_TEXT}), got ${opts.vocabSize}`);
  }
  const minFrequency = opts.minFrequency ?? 2;
  const target = opts.vocabSize - 257;

  const tokens: Uint8Array[] = BYTE_ORDER.map((b) => Uint8Array.of(b));
  const byteId = new Int32Array(256);
  BYTE_ORDER.forEach((b, i) => (byteId[b] = i));

  // All words' symbols in one array: word w is syms[start[w], start[w] + len[w]).
  const nWords = counts.size;
  const start = new Int32Array(nWords);
  const len = new Int32Array(nWords);
  const freq = new Float64Array(nWords);
  let total = 0;
  for (const piece of counts.keys()) total += Buffer.byteLength(piece); // lone surrogates: 3 bytes (U+FFFD) either way
  const syms = new Int32Array(total);
  const scratch = new Uint8Array(1024);
  let w = 0;
  let at = 0;
  for (const [piece, count] of counts) {
    const need = maxUtf8Length(piece.length);
    const buf = need <= scratch.length ? scratch : new Uint8Array(need);
    const n = utf8EncodeInto(piece, 0, piece.length, buf);
    for (let k = 0; k < n; k++) syms[at + k] = byteId[buf[k]];
    start[w] = at;
    len[w] = n;
    freq[w] = count;
    at += n;
    w++;
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>(); // words that contain (or once contained) the pair
  const addPairs = (w: number, sign: number, onlyWith: number) => {
    const s = start[w];
    const f = sign * freq[w];
    for (let k = s; k < s + len[w] - 1; k++) {
      const a = syms[k];
      const b = syms[k + 1];
      const key = a * ID_BITS + b;
      const c = (pairCount.get(key) ?? 0) + f;
      if (c === 0) pairCount.delete(key);
      else pairCount.set(key, c);
      if (sign > 0 && (onlyWith < 0 || a === onlyWith || b === onlyWith)) {
        let list = pairWords.get(key);
        if (list === undefined) pairWords.set(key, (list = []));
        if (list[list.length - 1] !== w) list.push(w);
      }
    }
  };
  for (let i = 0; i < nWords; i++) addPairs(i, 1, -1);

  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(-c, key);

  const merges: Array<[number, number, number]> = [];
  const seen = new Int32Array(nWords).fill(-1);
  while (merges.length < target && heap.size > 0) {
    const stored = -(heap.peekPriority() as number);
    const key = heap.peekKey() as number;
    heap.pop();
    const cur = pairCount.get(key) ?? 0;
    if (cur !== stored) {
      if (cur > 0) heap.push(-cur, key); // counts of existing pairs only fall: re-file with the true count
      continue;
    }
    if (cur < minFrequency) break;
    const a = Math.floor(key / ID_BITS);
    const b = key - a * ID_BITS;
    const c = tokens.length;
    const merged = new Uint8Array(tokens[a].length + tokens[b].length);
    merged.set(tokens[a]);
    merged.set(tokens[b], tokens[a].length);
    tokens.push(merged);
    merges.push([a, b, c]);

    // Rewrite every word holding (a, b): take its pairs out, merge, put its pairs back.
    const touched = new Set<number>();
    for (const w of pairWords.get(key) ?? []) {
      if (seen[w] === c) continue;
      seen[w] = c;
      const s = start[w];
      const n = len[w];
      let found = false;
      for (let k = s; k < s + n - 1 && !found; k++) found = syms[k] === a && syms[k + 1] === b;
      if (!found) continue;
      addPairs(w, -1, -1);
      let o = s;
      for (let k = s; k < s + n; k++) {
        if (k < s + n - 1 && syms[k] === a && syms[k + 1] === b) {
          syms[o++] = c;
          k++;
        } else syms[o++] = syms[k];
      }
      len[w] = o - s;
      addPairs(w, 1, c);
      for (let k = s; k < o - 1; k++) if (syms[k] === c || syms[k + 1] === c) touched.add(syms[k] * ID_BITS + syms[k + 1]);
    }
    pairWords.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t);
      if (n !== undefined) heap.push(-n, t);
    }
    opts.onMerge?.(merges.length, target);
    if (opts.shouldStop?.()) break;
  }

  const special = new Map([[EOT_TEXT, tokens.length]]);
  tokens.push(new TextEncoder().encode(EOT_TEXT));
  return { tokens, merges, special };
}

/**
 * Streams files (UTF-8) through a PieceCounter, 1 MiB at a time; `onBytes` gets the bytes read so far.
 * Stops early (keeping what was counted) when `shouldStop` returns true.
 */
export async function countPiecesInFiles(
  files: string[],
  counter: PieceCounter,
  onBytes?: (bytes: number) => void,
  shouldStop?: () => boolean,
): Promise<void> {
  let bytes = 0;
  for (const file of files) {
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        counter.add(decoder.decode(chunk, { stream: true }));
        bytes += chunk.length;
        onBytes?.(bytes);
        if (shouldStop?.()) break;
      }
    } finally {
      stream.destroy();
    }
    counter.add(decoder.decode(), true);
    if (shouldStop?.()) return;
  }
}
