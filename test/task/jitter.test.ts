// Numeric jitter (src/task/jitter.ts): only the numbers move, each by at most k units of its last digit with its
// decimals and leading zeros kept, never below zero, reproducibly from the generator; with the token-count rule
// a jittered prompt has exactly the original's GPT-2 token count.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jitterNumbers, sameTokenCount } from '../../src/task/jitter.js';
import { gestureSample, randomScene, GESTURE_COLUMNS, GESTURE_LABELS } from '../../src/data/generate/gesture.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { Rng } from '../../src/util/rng.js';

const NUMBER = /\d+(?:\.\d+)?/g;
const units = (s: string) => BigInt(s.replace('.', ''));
const decimals = (s: string) => (s.includes('.') ? s.length - s.indexOf('.') - 1 : 0);

/** Text of numbers (integers and decimals, some with leading zeros) between separators and words. */
const numberText = fc.array(
  fc.tuple(
    fc.oneof(fc.constant(' '), fc.constant(', '), fc.constant('\n['), fc.constant(' -'), fc.constant('x')),
    fc.integer({ min: 0, max: 99999 }),
    fc.integer({ min: 0, max: 3 }),
    fc.boolean(),
  ).map(([sep, n, dec, pad]) => {
    const s = String(n).padStart(dec + 1, '0');
    const num = dec === 0 ? s : `${s.slice(0, -dec)}.${s.slice(-dec)}`;
    return `${sep}${pad && dec === 0 ? `0${num}` : num}`;
  }),
  { minLength: 1, maxLength: 30 },
).map((parts) => parts.join(''));

describe('jitterNumbers', () => {
  it('moves every number by at most k units of its last digit, keeps everything else, and repeats for the same seed', () => {
    fc.assert(
      fc.property(numberText, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e9 }), (text, k, seed) => {
        const out = jitterNumbers(text, k, new Rng(seed));
        expect(out.replace(NUMBER, '#')).toBe(text.replace(NUMBER, '#'));
        const a = text.match(NUMBER) as string[];
        const b = out.match(NUMBER) as string[];
        expect(b.length).toBe(a.length);
        a.forEach((x, i) => {
          expect(decimals(b[i])).toBe(decimals(x));
          if (x[0] === '0') expect(b[i].length).toBeGreaterThanOrEqual(x.length); // leading zeros kept
          const d = units(b[i]) - units(x);
          expect(d <= BigInt(k) && d >= -BigInt(k)).toBe(true);
        });
        expect(jitterNumbers(text, k, new Rng(seed))).toBe(out);
        expect(jitterNumbers(text, 0, new Rng(seed))).toBe(text);
      }),
    );
  });

  it('draws every offset in [-k, k] about equally often, and never goes below zero', () => {
    const rng = new Rng(3);
    const counts = new Map<number, number>();
    for (let i = 0; i < 5000; i++) {
      const d = Number(jitterNumbers('27.50', 2, rng)) * 100 - 2750;
      counts.set(Math.round(d), (counts.get(Math.round(d)) ?? 0) + 1);
    }
    expect([...counts.keys()].sort((a, b) => a - b)).toEqual([-2, -1, 0, 1, 2]);
    for (const c of counts.values()) expect(Math.abs(c - 1000)).toBeLessThan(150);
    for (let i = 0; i < 200; i++) expect(Number(jitterNumbers('1', 3, rng))).toBeGreaterThanOrEqual(0);
    expect(jitterNumbers('0.05', 1, new Rng(1))).toMatch(/^0\.0[456]$/);
  });

  it('with sameTokenCount, a jittered gesture prompt has the original GPT-2 token count, and most readings still move', () => {
    const tok = gpt2();
    const keep = sameTokenCount(tok);
    const rng = new Rng(11);
    let moved = 0;
    let total = 0;
    for (let r = 0; r < 20; r++) {
      const rows = gestureSample(rng, GESTURE_LABELS[r % 3], randomScene(rng));
      const input = GESTURE_COLUMNS.map((c, j) => `${c}: ${rows.map((row) => row[j]).join(' ')}`).join('\n');
      const out = jitterNumbers(input, 2, rng, keep);
      expect(tok.encode(out).length).toBe(tok.encode(input).length);
      const a = input.match(NUMBER) as string[];
      const b = out.match(NUMBER) as string[];
      total += a.length;
      moved += a.filter((x, i) => x !== b[i]).length;
    }
    expect(moved / total).toBeGreaterThan(0.6); // 4 of 5 draws move a reading; a redraw rarely gives up
  });

  it('with sameTokenCount, any text of numbers keeps its GPT-2 token count (4-digit values and decimals often would not)', () => {
    const tok = gpt2();
    const keep = sameTokenCount(tok);
    fc.assert(
      fc.property(numberText, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 0, max: 1e9 }), (text, k, seed) => {
        expect(tok.encode(jitterNumbers(text, k, new Rng(seed), keep)).length).toBe(tok.encode(text).length);
      }),
      { numRuns: 300 },
    );
  });
});
