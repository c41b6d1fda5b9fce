// Number-aware embedding init: which GPT-2 tokens are numbers (against the tokenizer's own encodings), and that the init
// places them by value (neighbours closer than far values), leaves every other row alone, keeps the N(0, std) row
// norm, and is a function of the seed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { initNumberEmbeddings, numberTokens, type NumberToken } from '../../src/models/gpt2/number-init.js';
import { gpt2 } from '../../src/tokenizer/gpt2.js';
import { Rng } from '../../src/util/rng.js';

const cos = (a: Float32Array, b: Float32Array) => {
  let d = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) [d, na, nb] = [d + a[i] * b[i], na + a[i] * a[i], nb + b[i] * b[i]];
  return d / Math.sqrt(na * nb);
};

describe('numberTokens', () => {
  const tok = gpt2();
  const numbers = numberTokens(tok.vocabSize, (id) => tok.decode([id]));
  const byId = new Map(numbers.map((t) => [t.id, t]));

  it('finds the tokens GPT-2 encodes readings with, with their values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 9999 }), fc.boolean(), (v, space) => {
        // GPT-2 has single tokens for some numbers only (" 139" is one, " 811" is " 8" + "11"): each one is listed
        const ids = tok.encode(`${space ? ' ' : ''}${v}`);
        if (ids.length === 1) expect(byId.get(ids[0])).toEqual({ id: ids[0], value: v, digits: String(v).length, space });
        for (const id of ids) expect(byId.has(id) || /\D/.test(tok.decode([id]))).toBe(true);
      }),
    );
    // and nothing else: decoded, every listed token is an optional space and 1–4 digits
    for (const t of numbers) expect(tok.decode([t.id])).toBe(`${t.space ? ' ' : ''}${String(t.value).padStart(t.digits, '0')}`);
    expect(byId.has(tok.encode(' x')[0])).toBe(false);
    expect(numbers.length).toBeGreaterThan(1000);
  });
});

describe('initNumberEmbeddings', () => {
  const C = 64;
  const std = 0.02;
  const tokens: NumberToken[] = Array.from({ length: 1000 }, (_, v) => ({ id: 2 * v + 1, value: v, digits: String(v).length, space: true }));
  const V = 2001;
  const init = (seed: number) => {
    const rng = new Rng(99);
    const wte = Float32Array.from({ length: V * C }, () => rng.normal(0, std));
    const before = wte.slice();
    initNumberEmbeddings(wte, C, tokens, std, seed);
    return { wte, before };
  };
  const { wte, before } = init(5);
  const row = (w: Float32Array, id: number) => w.subarray(id * C, (id + 1) * C);

  it('places numbers by value: a neighbour is closer than far values are on average', () => {
    // not every far value: sinusoids at a few scales bring an odd pair back close (12 of 140,500 pairs here)
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 500 }), (v) => {
        const e = (x: number) => row(wte, tokens[x].id);
        let far = 0;
        for (let d = 200; d <= 480; d++) far += cos(e(v), e(v + d)) / 281;
        expect(cos(e(v), e(v + 1))).toBeGreaterThan(far + 0.1);
      }),
    );
    // before the init they were unrelated
    expect(Math.abs(cos(row(before, tokens[10].id), row(before, tokens[11].id)))).toBeLessThan(0.5);
  });

  it('leaves other rows untouched, keeps the norm of an N(0, std) row, and depends on the seed', () => {
    for (let id = 0; id < V; id += 2) expect(row(wte, id)).toEqual(row(before, id));
    for (const t of tokens.slice(0, 50)) {
      const n = Math.hypot(...row(wte, t.id));
      expect(n).toBeGreaterThan(0.6 * std * Math.sqrt(C));
      expect(n).toBeLessThan(1.2 * std * Math.sqrt(C));
    }
    expect(init(5).wte).toEqual(wte);
    expect(row(init(6).wte, tokens[3].id)).not.toEqual(row(wte, tokens[3].id));
  });
});
