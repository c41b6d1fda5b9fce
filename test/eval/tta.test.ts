// Test-time augmentation (src/eval/tta.ts) in evaluate(): the label probabilities averaged over a row's prompt and
// its augmented copies, each copy scored as a fresh decoder scores it (no state carried between copies or rows);
// copies keep the token count under jitter, never cut a whole input for a shift, and bad requests are refused.
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/evaluate.js';
import { scoreCandidates } from '../../src/eval/score.js';
import { augmentedPrompts, meanCandidateProbabilities, type TestTimeAugmentation } from '../../src/eval/tta.js';
import { KVDecoder } from '../../src/models/gpt2/decode.js';
import { decidingLengths, fitPrompt, labelCandidates } from '../../src/task/encode.js';
import { sameTokenCount } from '../../src/task/jitter.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { Rng } from '../../src/util/rng.js';
import { LABELS, memorise, tinyRows, tinyTokenizer } from './helpers.js';

const rows = tinyRows(9, 1);
const { tok } = tinyTokenizer(rows);
const model = memorise(tok, rows, 60); // partly trained: its scores are not all one-sided
const opts = { template: TINYLLM_TEMPLATE, contextLength: 64 };
const tta = (copies: number, jitter: number, shift = 0, seed = 5): TestTimeAugmentation => ({ copies, aug: { jitter, shift, gain: 1, keep: sameTokenCount(tok) }, rng: new Rng(seed) });

describe('meanCandidateProbabilities', () => {
  it('averages the softmax over candidates of each prompt, whatever each prompt adds to all its scores', () => {
    const p = meanCandidateProbabilities([
      [Math.log(0.2) - 7, Math.log(0.8) - 7],
      [Math.log(0.6) + 3, Math.log(0.4) + 3],
    ]);
    expect(p[0]).toBeCloseTo(0.4, 12);
    expect(p[1]).toBeCloseTo(0.6, 12);
    // soft voting, not a product of likelihoods: one confident copy does not outvote two others
    const q = meanCandidateProbabilities([[Math.log(0.9), Math.log(0.1)], [Math.log(0.9), Math.log(0.1)], [Math.log(0.001), Math.log(0.999)]]);
    expect(q[0]).toBeCloseTo((0.9 + 0.9 + 0.001) / 3, 12);
    expect(q[0]).toBeGreaterThan(q[1]); // while 0.9 · 0.9 · 0.001 < 0.1 · 0.1 · 0.999
  });
});

describe('augmentedPrompts', () => {
  it('gives copies − 1 prompts whose numbers moved by at most ±K in their last digit, token count kept', () => {
    const ex = rows[4];
    const fitted = fitPrompt(tok, ex, 4, opts, ex.where);
    const prompts = augmentedPrompts(tok, ex, fitted, 4, opts, tta(6, 2));
    expect(prompts.length).toBe(5);
    const values = (ids: ArrayLike<number>) => (tok.decode(Array.from(ids)).match(/p: ([\d ]+)/) as RegExpMatchArray)[1].trim().split(' ').map(Number);
    const plain = values(fitted.ids);
    let moved = 0;
    for (const p of prompts) {
      expect(p.length).toBe(fitted.ids.length);
      const v = values(p);
      expect(v.length).toBe(plain.length);
      v.forEach((x, i) => expect(Math.abs(x - plain[i])).toBeLessThanOrEqual(2));
      if (v.some((x, i) => x !== plain[i])) moved++;
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('does not cut an input that was whole to make room for a shift', () => {
    const ex = { ...rows[0], input: `p: ${Array.from({ length: 20 }, (_, i) => (i === 0 ? 123456789 : 10 + i)).join(' ')}` };
    const whole = fitPrompt(tok, ex, 4, { ...opts, contextLength: 512 }, ex.where);
    const tight = { ...opts, contextLength: whole.ids.length + 4 - 1 }; // exactly fits prompt + 4 answer tokens
    const fitted = fitPrompt(tok, ex, 4, tight, ex.where);
    expect(fitted.inputKept).toBe(fitted.inputChars);
    for (const p of augmentedPrompts(tok, ex, fitted, 4, tight, tta(30, 0, 2))) expect(tok.decode(Array.from(p))).toContain(ex.input.slice(-2));
  });
});

describe('evaluate with test-time augmentation', () => {
  it('ranks by the mean label probabilities over the prompt and its copies, each scored as a fresh decoder scores it', () => {
    const r = evaluate(model, tok, rows, rows, { ...opts, generate: false, tta: tta(4, 3) });
    expect(r.tta).toEqual({ copies: 4, jitter: 3, shift: 0, gain: 1 });
    const candidates = labelCandidates(tok, LABELS, opts);
    const deciding = decidingLengths(tok, LABELS, candidates); // ranked by the label and the token after it
    const reserve = Math.max(...candidates.map((c) => c.length));
    const again = tta(4, 3); // the same draws, row after row
    const fresh = new KVDecoder(model);
    rows.forEach((ex, i) => {
      const fitted = fitPrompt(tok, ex, reserve, opts, ex.where);
      const scores = [fitted.ids, ...augmentedPrompts(tok, ex, fitted, reserve, opts, again)].map((p) => scoreCandidates(fresh, p, candidates, { deciding }).deciding);
      const mean = meanCandidateProbabilities(scores);
      const best = mean.indexOf(Math.max(...mean));
      expect(r.results[i].ranked).toBe(LABELS[best]);
      expect(r.results[i].logLikelihood).toBeCloseTo(scores.reduce((m, s) => m + s[best], 0) / scores.length, 4);
    });
  });

  it('with one copy is the plain evaluation; refuses copies without an augmentation (or a shift with nothing to move), without ranking, or with retrieval', () => {
    const plain = evaluate(model, tok, rows, rows, opts);
    const one = evaluate(model, tok, rows, rows, { ...opts, tta: tta(1, 3) });
    expect(one.tta).toBeUndefined();
    expect(one.results).toEqual(plain.results);
    expect(() => evaluate(model, tok, rows, rows, { ...opts, tta: tta(3, 0, 0) })).toThrow(/needs a jitter, a shift or a gain/);
    // these inputs are six numbers: a shift alone would leave every copy as the prompt
    expect(() => evaluate(model, tok, rows, rows, { ...opts, tta: tta(3, 0, 2) })).toThrow(/shift or gain alone: no test input holds a series to change/);
    expect(evaluate(model, tok, rows, rows, { ...opts, generate: false, tta: tta(3, 2, 2) }).tta).toEqual({ copies: 3, jitter: 2, shift: 2, gain: 1 });
    expect(() => evaluate(model, tok, rows, rows, { ...opts, rank: false, tta: tta(3, 2) })).toThrow(/applies to ranking/);
  });
});
