// Examples → ids: the sequence-start rule, special tokens opt-in, the loss mask on the answer, and
// truncation that never cuts an answer.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decidingLengths, encodeExample, encodeTask, describeCuts, exampleTargets, fitPrompt, labelCandidates } from '../../src/task/encode.js';
import { encodeSequence, parseSequenceStart, startTokens } from '../../src/task/sequence.js';
import { renderAnswer, renderPrompt, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { Rng } from '../../src/util/rng.js';
import { gpt2 } from '../../src/tokenizer/index.js';

const tok = gpt2();
const T = TINYLLM_TEMPLATE;

describe('sequence start (issue 15)', () => {
  it('starts with <|endoftext|> by default, nothing with none; special-token text is plain text unless allowed', () => {
    expect(encodeSequence(tok, 'Hello world')).toEqual([50256, 15496, 995]);
    expect(encodeSequence(tok, 'Hello world', { start: 'none' })).toEqual([15496, 995]);
    expect(startTokens(tok)).toEqual([50256]);
    const plain = encodeSequence(tok, 'a<|endoftext|>b', { start: 'none' });
    expect(plain).not.toContain(50256);
    expect(tok.decode(plain)).toBe('a<|endoftext|>b');
    expect(encodeSequence(tok, 'a<|endoftext|>b', { start: 'none', allowSpecial: true })).toEqual([...tok.encode('a'), 50256, ...tok.encode('b')]);
    expect(parseSequenceStart('none')).toBe('none');
    expect(() => parseSequenceStart('bos')).toThrow(/'bos' is not a sequence start; use endoftext or none/);
  });
});

describe('encoding examples', () => {
  const ex = { instruction: 'Classify.', input: '1 2 3 4 5 6 7 8 9 10', output: 'Double tap', where: 'f: row 1 (line 2)' };

  it('ids = <|endoftext|> + prompt + answer; the loss counts the answer and ### End only', () => {
    const e = encodeExample(tok, ex, { template: T, contextLength: 1024 });
    const prompt = encodeSequence(tok, renderPrompt(T, ex));
    const answer = tok.encode(renderAnswer(T, ex.output));
    expect(Array.from(e.ids)).toEqual([...prompt, ...answer]);
    expect(e.promptLength).toBe(prompt.length);
    const n = e.ids.length;
    const targets = new Int32Array(n + 3);
    expect(exampleTargets(e, targets, n + 3)).toBe(answer.length);
    // position t predicts ids[t+1]: only the answer's positions count; padding past the end is ignored
    expect(Array.from(targets)).toEqual([...Array(prompt.length - 1).fill(-1), ...answer, -1, -1, -1, -1]);
    expect(tok.decode(answer)).toBe('Double tap\n\n### End');
    // --train-on-all (TinyLLM's trainer): every next token counts
    expect(exampleTargets(e, targets, n + 3, { share: 1 })).toBe(n - 1);
    expect(Array.from(targets.subarray(0, n - 1))).toEqual(Array.from(e.ids.subarray(1)));
  });

  it('--prompt-loss: round(share × prompt tokens) prompt positions also count, drawn by the seed; the answer always counts', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 8 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 5 }), fc.integer(), (promptLength, answer, share, pad, seed) => {
        const n = promptLength + answer;
        const e = { ids: Int32Array.from({ length: n }, (_, i) => 1000 + i), promptLength, inputKept: 0, inputChars: 0, where: '' };
        const T = n - 1 + pad;
        const targets = new Int32Array(T);
        const count = exampleTargets(e, targets, T, { share, rng: new Rng(seed) });
        const promptPositions = promptLength - 1; // position t < promptLength − 1 predicts a prompt token
        const picked = Array.from(targets.subarray(0, promptPositions)).filter((v) => v !== -1).length;
        expect(picked).toBe(share >= 1 ? promptPositions : Math.round(share * promptPositions));
        expect(count).toBe(picked + answer);
        // a counted position predicts the next id; the answer's positions all count; padding never does
        targets.forEach((v, t) => expect(v === -1 || v === e.ids[t + 1]).toBe(true));
        expect(Array.from(targets.subarray(promptPositions, n - 1))).toEqual(Array.from(e.ids.subarray(promptLength)));
        expect(Array.from(targets.subarray(n - 1)).every((v) => v === -1)).toBe(true);
        // the same seed picks the same positions
        const again = new Int32Array(T);
        exampleTargets(e, again, T, { share, rng: new Rng(seed) });
        expect(again).toEqual(targets);
      }),
    );
  });

  it('--prompt-loss-tokens: that many prompt positions per row (all of a shorter prompt), the answer always counted', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 80 }), fc.integer(), (promptLength, answer, tokens, seed) => {
        const n = promptLength + answer;
        const e = { ids: Int32Array.from({ length: n }, (_, i) => 1000 + i), promptLength, inputKept: 0, inputChars: 0, where: '' };
        const targets = new Int32Array(n - 1);
        const count = exampleTargets(e, targets, n - 1, { share: 0.5, tokens, rng: new Rng(seed) }); // tokens wins over share
        const picked = Array.from(targets.subarray(0, promptLength - 1)).filter((v) => v !== -1).length;
        expect(picked).toBe(Math.min(tokens, promptLength - 1));
        expect(count).toBe(picked + answer);
        targets.forEach((v, t) => expect(v === -1 || v === e.ids[t + 1]).toBe(true));
      }),
    );
  });

  it('--prompt-loss picks every prompt position about equally often', () => {
    const promptLength = 41;
    const e = { ids: Int32Array.from({ length: promptLength + 3 }, (_, i) => i), promptLength, inputKept: 0, inputChars: 0, where: '' };
    const hits = new Float64Array(promptLength - 1);
    const targets = new Int32Array(e.ids.length - 1);
    const rng = new Rng(7);
    const rounds = 4000;
    for (let r = 0; r < rounds; r++) {
      exampleTargets(e, targets, targets.length, { share: 0.25, rng });
      for (let t = 0; t < promptLength - 1; t++) if (targets[t] !== -1) hits[t]++;
    }
    // 10 of 40 picked each round: each position with probability 1/4 (binomial sd ≈ 27 of 1000; 5 sd)
    for (const h of hits) expect(Math.abs(h - rounds / 4)).toBeLessThan(140);
  });

  it('ranking decides on the label and the first token after it (GPT-2), the whole answer where the label is not its start', () => {
    const labels = ['Tap', 'Tap twice', 'Entrance', 'Server rack', 'Charging station', 'Ø 2 m'];
    const cands = labelCandidates(tok, labels, { template: T });
    const deciding = decidingLengths(tok, labels, cands);
    labels.forEach((l, i) => {
      expect(tok.decode(cands[i].slice(0, deciding[i]))).toBe(l + '\n'); // the label, then the end marker's first token
      expect(deciding[i]).toBeLessThan(cands[i].length);
    });
    // "Tap" and "Tap twice" share their first token; the token after the label tells them apart
    expect(cands[0].slice(0, deciding[0])).not.toEqual(cands[1].slice(0, deciding[0]));
    // no end marker: the label alone
    const bare = labelCandidates(tok, labels, { template: { ...T, end: '' } });
    expect(decidingLengths(tok, labels, bare)).toEqual(bare.map((c) => c.length));
    // a label whose own tokens do not start its answer (a separator that merges with it): the whole answer
    const glued = labelCandidates(tok, ['Tap'], { template: { ...T, separator: 'ping\n' } });
    expect(tok.decode(glued[0])).toBe('Tapping\n### End');
    expect(decidingLengths(tok, ['Tap'], glued)).toEqual([glued[0].length]);
  });

  it('a prompt longer than the context loses the end of its input, never the answer; refuse names the row', () => {
    const full = encodeExample(tok, ex, { template: T, contextLength: 1024 });
    const ctx = full.ids.length - 5; // 4 tokens too long (sequences hold contextLength + 1 ids)
    const e = encodeExample(tok, ex, { template: T, contextLength: ctx });
    expect(e.ids.length).toBeLessThanOrEqual(ctx + 1);
    expect(tok.decode(e.ids.subarray(e.promptLength))).toBe('Double tap\n\n### End');
    expect(e.inputKept).toBeLessThan(ex.input.length);
    // cut at whitespace: the kept input is a prefix of whole numbers
    expect(ex.input.startsWith(tok.decode(e.ids).split('### Input:\n')[1].split('\n\n')[0])).toBe(true);
    expect(tok.decode(e.ids)).toMatch(/### Input:\n1 2 3 4 5( \d+)*\n\n### Response:\nDouble tap/);
    expect(() => encodeExample(tok, ex, { template: T, contextLength: ctx, overflow: 'refuse' })).toThrow(/f: row 1 \(line 2\): \d+ prompt \+ 6 answer tokens do not fit the context of \d+/);
    expect(() => encodeExample(tok, ex, { template: T, contextLength: 10 })).toThrow(/f: row 1 \(line 2\): .*even with the input left out/);
    const task = encodeTask(tok, [ex, { ...ex, input: '1', where: 'f: row 2 (line 3)' }], { template: T, contextLength: ctx });
    expect(task.cut.map((c) => c.where)).toEqual(['f: row 1 (line 2)']);
    expect(describeCuts('train', task, ctx).at(-1)).toBe(`train: 1 of 2 rows had their input cut to fit the model's context of ${ctx} tokens (answers are never cut; a model with a longer context, e.g. pretrain --block-size 1024, keeps whole rows; --overflow refuse makes this an error)`);
  });

  it('property: any input and context that fits the bare prompt keeps the whole answer and fits', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 999 }), { minLength: 0, maxLength: 80 }), fc.integer({ min: 0, max: 60 }), fc.constantFrom('Tap', 'Server rack', '14.5'), (nums, extra, output) => {
        const row = { instruction: 'Go.', input: nums.join(' '), output, where: 'w' };
        const bare = fitPrompt(tok, { instruction: row.instruction, input: '' }, 0, { template: T, contextLength: 4096 }, 'w').ids.length;
        const answer = tok.encode(renderAnswer(T, output)).length;
        const ctx = bare + answer - 1 + extra;
        const e = encodeExample(tok, row, { template: T, contextLength: ctx });
        expect(e.ids.length).toBeLessThanOrEqual(ctx + 1);
        expect(tok.decode(e.ids.subarray(e.promptLength))).toBe(renderAnswer(T, output));
        expect(row.input.startsWith(row.input.slice(0, e.inputKept))).toBe(true);
      }),
      { numRuns: 40 },
    );
  });
});
