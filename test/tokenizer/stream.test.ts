// The streaming decoder: concatenated outputs equal decode(all ids) for any id sequence, and valid
// text never shows U+FFFD mid-character (emoji, CJK split across tokens are held back until complete).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { gpt2 } from '../../src/tokenizer/index.js';

const texts = fc.array(
  fc.oneof(fc.constantFrom('🤖', '👨‍👩‍👧', '🇫🇷', '你好世界', '한국어', 'é', 'e\u0301', ' ', '\n', 'Hello', '<|endoftext|>'), fc.string({ unit: 'grapheme', maxLength: 8 })),
  { maxLength: 20 },
).map((p) => p.join('')).filter((s) => !s.includes('\ufffd'));

describe('createStreamDecoder', () => {
  it('holds back an emoji until its last byte arrives', () => {
    const t = gpt2();
    const ids = t.encode('🤖!');
    expect(ids).toEqual([8582, 97, 244, 0]);
    const d = t.createStreamDecoder();
    expect(ids.map((id) => d.push(id))).toEqual(['', '', '🤖', '!']);
    expect(d.flush()).toBe('');
  });

  it('concatenates to decode(all) for valid text, with no U+FFFD in any piece', () => {
    const t = gpt2();
    fc.assert(
      fc.property(texts, fc.boolean(), (s, special) => {
        const ids = t.encode(s, { allowSpecial: special });
        const d = t.createStreamDecoder();
        const parts = ids.map((id) => d.push(id));
        parts.push(d.flush());
        expect(parts.join('')).toBe(t.decode(ids));
        expect(parts.join('')).toBe(s);
        for (const p of parts) expect(p.includes('\ufffd')).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('concatenates to decode(all) for arbitrary ids (invalid UTF-8 included), and is reusable after flush', () => {
    const t = gpt2();
    // byte-level tokens (ids 0..255) and random ids make broken sequences often
    const id = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: t.vocabSize - 1 }), fc.constantFrom(8582, 97, 244, 162, 223, 229));
    const d = t.createStreamDecoder();
    fc.assert(
      fc.property(fc.array(id, { maxLength: 40 }), (ids) => {
        const parts = ids.map((x) => d.push(x));
        parts.push(d.flush());
        expect(parts.join('')).toBe(t.decode(ids));
      }),
      { numRuns: 1000 },
    );
  });

  it('emits U+FFFD on flush for an unfinished character', () => {
    const d = gpt2().createStreamDecoder();
    expect(d.push(8582)).toBe('');
    expect(d.flush()).toBe('\ufffd');
    expect(() => d.push(-1)).toThrow(RangeError);
  });
});
