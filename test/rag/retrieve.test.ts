// Retrieval on hand-made sets: BM25 against scores computed by hand from the formula, numbers and
// embeddings against a brute-force search written independently here, the store round trip, leak detection.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Bm25Index } from '../../src/rag/bm25.js';
import { embedTexts } from '../../src/rag/embed.js';
import { findLeaks } from '../../src/rag/leak.js';
import { buildStore, openRetriever, type Embedder } from '../../src/rag/retrieve.js';
import { readStore, writeStore, type StoredRow } from '../../src/rag/store.js';
import { memorise, tinyRows, tinyTokenizer } from '../eval/helpers.js';

const row = (input: string, output = 'x', instruction = ''): StoredRow => ({ instruction, input, output });

describe('BM25', () => {
  it('matches scores computed by hand', () => {
    // docs: d0 "red apple" (2 terms), d1 "green apple apple" (3), d2 "blue sky" (2); avgdl = 7/3, N = 3
    const idx = new Bm25Index(['red apple', 'green apple apple', 'blue sky']);
    const idf = (df: number) => Math.log(1 + (3 - df + 0.5) / (df + 0.5));
    const term = (tf: number, dl: number) => (tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * dl) / (7 / 3)));
    const s = idx.scores('Apple RED apple');
    expect(s[0]).toBeCloseTo(idf(2) * term(1, 2) + idf(1) * term(1, 2), 12);
    expect(s[1]).toBeCloseTo(idf(2) * term(2, 3), 12);
    expect(s[2]).toBe(0);
    // by hand: idf(1) = ln(1 + 2.5/1.5) = 0.98083, idf(2) = ln(1 + 1.5/2.5) = 0.47000
    expect(idf(1)).toBeCloseTo(0.980829, 5);
    expect(idf(2)).toBeCloseTo(0.470004, 5);
  });

  it('ranks by score through the store, leaving excluded rows out', () => {
    const store = buildStore([row('red apple'), row('green apple apple'), row('blue sky')], 'bm25', 'hand');
    const r = openRetriever(store);
    expect(r.search({ instruction: '', input: 'red apple' }, 3)).toEqual([0, 1, 2]);
    expect(r.search({ instruction: '', input: 'sky' }, 1)).toEqual([2]);
    expect(r.search({ instruction: '', input: 'red apple' }, 2, new Set([0]))).toEqual([1, 2]);
  });
});

/** Brute force: indices sorted by squared distance, ties by index. */
function bruteNearest(keys: number[][], q: number[], k: number): number[] {
  const d = keys.map((x) => x.reduce((s, v, j) => s + (v - q[j]) ** 2, 0));
  return keys.map((_, i) => i).sort((a, b) => d[a] - d[b] || a - b).slice(0, k);
}

describe('numbers key', () => {
  it('finds the true nearest neighbours in standardised space (hand-made)', () => {
    // feature 1 spans 0..1000, feature 2 spans 0..1: unstandardised, feature 1 would decide everything
    const rows = [row('a 0 0'), row('b 1000 1'), row('c 500 0.5'), row('d 0 1'), row('e 1000 0')];
    const r = openRetriever(buildStore(rows, 'numbers', 'hand'));
    // query (100, 0.9): standardised it is nearest to d (0, 1), then c
    expect(r.search({ instruction: '', input: 'q 100 0.9' }, 2)).toEqual([3, 2]);
  });

  it('agrees with brute force on random sets', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: -50, max: 50 }), fc.integer({ min: -50, max: 50 }), fc.integer({ min: 0, max: 9 })), { minLength: 2, maxLength: 30 }), fc.tuple(fc.integer({ min: -60, max: 60 }), fc.integer({ min: -60, max: 60 }), fc.integer({ min: 0, max: 9 })), fc.integer({ min: 1, max: 5 }), (pts, q, k) => {
        const rows = pts.map((p) => row(`x ${p.join(', ')}`));
        const store = buildStore(rows, 'numbers', 'gen');
        const n = pts.length;
        const mean = [0, 1, 2].map((j) => pts.reduce((s, p) => s + p[j], 0) / n);
        const std = [0, 1, 2].map((j) => Math.sqrt(pts.reduce((s, p) => s + (p[j] - mean[j]) ** 2, 0) / n));
        const z = (p: number[]) => p.map((v, j) => (std[j] > 0 ? (v - mean[j]) / std[j] : 0));
        const want = bruteNearest(pts.map(z), z(q), Math.min(k, n));
        expect(openRetriever(store).search({ instruction: '', input: `x ${q.join(', ')}` }, k)).toEqual(want);
      }),
      { numRuns: 60 },
    );
  });

  it('survives a write/read round trip', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rag-'));
    const rows = [row('a 1 2', 'Tap', 'do it'), row('b 3 4', 'Hold'), row('c 5 9', 'Tap')];
    const store = buildStore(rows, 'numbers', 'hand.jsonl');
    writeStore(path.join(dir, 's.tlx'), store);
    const back = readStore(path.join(dir, 's.tlx'));
    expect(back.rows).toEqual(rows);
    expect(back.keys).toEqual(store.keys);
    expect(back.key).toEqual(store.key);
    expect(openRetriever(back).search({ instruction: '', input: 'q 5 8' }, 1)).toEqual([2]);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('embed key', () => {
  const rows = tinyRows(9, 5);
  const { tok } = tinyTokenizer(rows);
  const model = memorise(tok, rows, 5);
  const embedder: Embedder = { model, codec: tok, layer: 1, modelPath: 'tiny', tokenizer: 'tiny', sequenceStart: 'endoftext', allowSpecial: false };

  it('returns the row whose embedding is nearest by cosine (brute force over the embeddings)', () => {
    const store = buildStore(rows, 'embed', 'tiny', embedder);
    const r = openRetriever(store, embedder);
    const query = { instruction: '', input: 'p: 95 3 91 4 5 6' };
    const q = Array.from(embedTexts(model, tok, [`\n${query.input}`], { layer: 1 }).vectors);
    const C = model.config.nEmbd;
    const keys = rows.map((_, i) => Array.from(store.keys.subarray(i * C, (i + 1) * C)));
    const cos = keys.map((x) => x.reduce((s, v, j) => s + v * q[j], 0));
    const byCos = keys.map((_, i) => i).sort((a, b) => cos[b] - cos[a] || a - b);
    expect(r.search(query, 3)).toEqual(byCos.slice(0, 3));
    // a stored row is its own nearest neighbour
    expect(r.search(rows[4], 1)).toEqual([4]);
    expect(Math.hypot(...keys[0])).toBeCloseTo(1, 6);
  });

  it('reads the hidden state the model computes: layer 0 is the mean of token + position embeddings', () => {
    const text = 'p: 1 2';
    const ids = [tok.eotToken, ...Array.from(tok.encode(text))];
    const C = model.config.nEmbd;
    const { wte, wpe, h } = model.params.tensors;
    const ln = h[0];
    const mean = new Float64Array(C);
    for (let t = 1; t < ids.length; t++) {
      const x = Array.from({ length: C }, (_, c) => wte[ids[t] * C + c] + wpe[t * C + c]);
      const mu = x.reduce((s, v) => s + v, 0) / C;
      const sd = Math.sqrt(x.reduce((s, v) => s + (v - mu) ** 2, 0) / C + 1e-5);
      for (let c = 0; c < C; c++) mean[c] += ((x[c] - mu) / sd) * ln.ln1w[c] + ln.ln1b[c];
    }
    const norm = Math.hypot(...mean);
    const got = embedTexts(model, tok, [text], { layer: 0 }).vectors;
    for (let c = 0; c < C; c++) expect(got[c]).toBeCloseTo(mean[c] / norm, 4);
  });
});

describe('leak detection', () => {
  it('finds evaluated rows that are in the store, up to whitespace', () => {
    const store = [row('1 2 3'), row('4 5 6', 'y', 'inst'), row('7 8 9')];
    const leaks = findLeaks(store, [
      { instruction: '', input: ' 1  2\r\n3 ' },
      { instruction: 'inst', input: '4 5 6' },
      { instruction: '', input: '4 5 6' },
    ]);
    expect(leaks.map((s) => [...s])).toEqual([[0], [1], []]);
  });
});
