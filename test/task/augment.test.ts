// augmentedExample (src/task/augment.ts): a drawn row shifted and jittered within what the run planned: a shift that
// would lengthen the row past the longest training row, or cut an input that was whole, is not made.
import { describe, expect, it } from 'vitest';
import { augmentedExample, type Augmentation } from '../../src/task/augment.js';
import { encodeExample } from '../../src/task/encode.js';
import { sameTokenCount } from '../../src/task/jitter.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { Rng } from '../../src/util/rng.js';

const tok = gpt2();
// the first reading takes more GPT-2 tokens than the others: repeating it (a shift to the right) lengthens the row,
// repeating the last (a shift to the left) does not
const values = ['123456789', ...Array.from({ length: 19 }, (_, i) => String(10 + i))];
const row = { instruction: 'Label?', input: `x: ${values.join(' ')}`, output: 'a', where: 'row 1' };
const readings = (ids: Int32Array, promptLength: number) => (tok.decode(Array.from(ids.subarray(0, promptLength))).match(/x: ([\d ]+)/) as RegExpMatchArray)[1].trim().split(' ');

describe('augmentedExample', () => {
  it('shifts left freely but not right past the longest row; with a longer row allowed, both ways', () => {
    const prompt = { template: TINYLLM_TEMPLATE, contextLength: 256 };
    const original = encodeExample(tok, row, prompt);
    const aug: Augmentation = { jitter: 0, shift: 2, gain: 1, keep: sameTokenCount(tok) };
    const seen = (maxLength: number) => {
      const out = new Set<string>();
      const rng = new Rng(1);
      for (let i = 0; i < 60; i++) {
        const e = augmentedExample(tok, row, original, aug, rng, prompt, maxLength);
        expect(e.ids.length).toBeLessThanOrEqual(maxLength);
        const r = readings(e.ids, e.promptLength);
        out.add(String([-2, -1, 0, 1, 2].find((d) => r.every((v, j) => v === values[Math.min(19, Math.max(0, j - d))]))));
      }
      return [...out].sort();
    };
    expect(seen(original.ids.length)).toEqual(['-1', '-2', '0']);
    expect(seen(original.ids.length + 16)).toEqual(['-1', '-2', '0', '1', '2']);
  });

  it('does not cut an input that was whole to make room for a shift', () => {
    const original = encodeExample(tok, row, { template: TINYLLM_TEMPLATE, contextLength: 256 });
    const tight = { template: TINYLLM_TEMPLATE, contextLength: original.ids.length - 1 }; // exactly fits: n tokens train n − 1 positions
    expect(encodeExample(tok, row, tight).inputKept).toBe(row.input.length);
    const rng = new Rng(2);
    for (let i = 0; i < 40; i++) {
      const e = augmentedExample(tok, row, original, { jitter: 0, shift: 2, gain: 1, keep: sameTokenCount(tok) }, rng, tight, 10_000);
      expect(e.inputKept).toBe(e.inputChars);
    }
  });
});
