import { describe, expect, it } from 'vitest';
import { encode as oracleEncode } from 'gpt-tokenizer/encoding/r50k_base';
import { gpt2 } from '../../src/tokenizer/index.js';

const oracle = (s: string) => oracleEncode(s, { disallowedSpecial: new Set() });

describe('gpt2()', () => {
  it('encodes "Hello world" as GPT-2 does', () => {
    expect(gpt2().encode('Hello world')).toEqual([15496, 995]);
    expect(gpt2().vocabSize).toBe(50257);
    expect(gpt2().eotToken).toBe(50256);
  });

  it('treats <|endoftext|> as text unless allowSpecial', () => {
    const t = gpt2();
    expect(t.encode('a<|endoftext|>b')).toEqual(oracle('a<|endoftext|>b'));
    expect(t.encode('a<|endoftext|>b', { allowSpecial: true })).toEqual([64, 50256, 65]);
  });
});
