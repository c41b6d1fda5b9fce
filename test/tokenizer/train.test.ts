// BPE training: merges equal a naive trainer's (recount every pair each step), chunked counting equals
// whole-text counting, the trained tokenizer round-trips, compresses its training text, and survives save/load.
import { afterAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BpeTokenizer, BYTE_ORDER, countPiecesInFiles, gpt2, loadTokenizer, PieceCounter, saveTokenizer, splitPieces, trainBpe } from '../../src/tokenizer/index.js';
import { Rng } from '../../src/util/rng.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-train-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Sensor-log-like text: timestamps and readings, the kind GPT-2's vocabulary splits badly. */
function sensorLog(lines: number, seed = 1): string {
  const rng = new Rng(seed);
  let s = '';
  for (let i = 0; i < lines; i++) {
    s += `2024-05-01T12:${String(rng.int(60)).padStart(2, '0')}:${String(rng.int(60)).padStart(2, '0')}Z temp=${(20 + rng.random() * 5).toFixed(2)} hum=${(40 + rng.random() * 20).toFixed(1)} ax=${rng.normal().toFixed(3)} status=${rng.random() < 0.9 ? 'ok' : 'WARN'}\n`;
  }
  return s;
}

function countWhole(text: string): Map<string, number> {
  const c = new PieceCounter();
  c.add(text, true);
  return c.counts;
}

/** The textbook algorithm: recount all pairs, merge the most frequent (ties: smaller ids), repeat. */
function naiveMerges(counts: Map<string, number>, vocabSize: number): Array<[number, number, number]> {
  const byteId = new Map(BYTE_ORDER.map((b, i) => [b, i]));
  const words = [...counts].map(([p, c]) => ({ s: [...new TextEncoder().encode(p)].map((b) => byteId.get(b) as number), c }));
  const merges: Array<[number, number, number]> = [];
  for (let id = 256; id < vocabSize - 1; id++) {
    const pairs = new Map<string, number>();
    for (const { s, c } of words) for (let k = 0; k + 1 < s.length; k++) pairs.set(`${s[k]},${s[k + 1]}`, (pairs.get(`${s[k]},${s[k + 1]}`) ?? 0) + c);
    let best: [number, number] | null = null;
    let bestCount = 1; // minFrequency 2
    for (const [key, c] of pairs) {
      const [a, b] = key.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null) break;
    merges.push([best[0], best[1], id]);
    for (const w of words) {
      const out: number[] = [];
      for (let k = 0; k < w.s.length; k++) {
        if (k + 1 < w.s.length && w.s[k] === best[0] && w.s[k + 1] === best[1]) {
          out.push(id);
          k++;
        } else out.push(w.s[k]);
      }
      w.s = out;
    }
  }
  return merges;
}

describe('BPE training', () => {
  it('learns the same merges as the naive algorithm', () => {
    const text = fc.array(fc.constantFrom('a', 'b', 'ab', 'aa', ' ', 'ba', '1', '22', '.', '\n', 'é', '🤖'), { maxLength: 60 }).map((p) => p.join(''));
    fc.assert(
      fc.property(text, fc.integer({ min: 257, max: 300 }), (s, vocabSize) => {
        const counts = countWhole(s);
        expect(trainBpe(counts, { vocabSize }).merges).toEqual(naiveMerges(counts, vocabSize));
      }),
      { numRuns: 200 },
    );
  });

  it('counts the same pieces whatever the chunking', () => {
    const text = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !/\p{Cs}/u.test(s));
    fc.assert(
      fc.property(text, fc.array(fc.nat(), { maxLength: 6 }), (s, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((x, y) => x - y);
        const c = new PieceCounter();
        let prev = 0;
        for (const i of at) {
          c.add(s.slice(prev, i));
          prev = i;
        }
        c.add(s.slice(prev), true);
        expect(new Map([...c.counts].sort())).toEqual(new Map([...countWhole(s)].sort()));
        expect([...c.counts.values()].reduce((x, y) => x + y, 0)).toBe(splitPieces(s).length);
      }),
      { numRuns: 500 },
    );
  });

  it('trains on streamed files, round-trips, compresses better than bytes and GPT-2, and saves/loads', async () => {
    const files = [path.join(tmp, 'a.log'), path.join(tmp, 'b.log')];
    fs.writeFileSync(files[0], sensorLog(3000, 1));
    fs.writeFileSync(files[1], sensorLog(3000, 2));
    const counter = new PieceCounter();
    await countPiecesInFiles(files, counter);
    let merged = 0;
    const model = trainBpe(counter.counts, { vocabSize: 600, onMerge: (done) => (merged = done) });
    expect(model.tokens.length).toBe(600);
    expect(merged).toBe(600 - 257);
    const tok = new BpeTokenizer(model);
    expect(tok.eotToken).toBe(599);

    const text = fs.readFileSync(files[0], 'utf8');
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    const bytes = Buffer.byteLength(text);
    expect(bytes / ids.length).toBeGreaterThan(1.5);
    expect(ids.length).toBeLessThan(gpt2().encode(text).length);
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) => {
      expect(tok.decode(tok.encode(s))).toBe(s);
    }), { numRuns: 300 });

    const out = path.join(tmp, 'tok');
    saveTokenizer(model, out);
    for (const loaded of [loadTokenizer(out), loadTokenizer(path.join(out, 'tokenizer.json'))]) {
      expect(loaded.encode(text)).toEqual(ids);
      expect(loaded.encode('x<|endoftext|>y', { allowSpecial: true })).toEqual(tok.encode('x<|endoftext|>y', { allowSpecial: true }));
    }
    // deterministic
    expect(trainBpe(counter.counts, { vocabSize: 600 }).merges).toEqual(model.merges);
  });

  it('bounds memory on huge inputs by dropping pieces seen once', () => {
    const c = new PieceCounter(50);
    for (let i = 0; i < 1000; i++) c.add(`x${i} common `);
    c.add('', true);
    expect(c.counts.size).toBeLessThanOrEqual(51);
    expect(c.counts.get(' common')).toBe(1000);
    const twice = new PieceCounter(50);
    for (let i = 0; i < 1000; i++) twice.add(`x${i} x${i} common `);
    expect(twice.counts.size).toBeLessThanOrEqual(51);
  });

  it('stops early when asked and when no pair repeats', () => {
    const counts = countWhole(sensorLog(200));
    let calls = 0;
    expect(trainBpe(counts, { vocabSize: 1000, shouldStop: () => ++calls >= 10 }).merges.length).toBe(10);
    const few = trainBpe(countWhole('abcd'), { vocabSize: 1000 });
    expect(few.merges.length).toBe(0);
    expect(few.tokens.length).toBe(257);
    expect(() => trainBpe(counts, { vocabSize: 256 })).toThrow(/vocabSize must be an integer in 257\.\./);
  });
});
