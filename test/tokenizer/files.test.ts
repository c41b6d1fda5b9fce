// Hugging Face files: GPT-2 saved and reloaded (vocab.json + merges.txt, tokenizer.json) encodes the
// same; saving reproduces the shipped merges.txt byte for byte; bad files give errors naming file and entry.
import { afterAll, describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BYTE_TO_CHAR, BYTE_ORDER, GPT2_DIR, gpt2, loadTokenizer, resolveTokenizer, saveTokenizer } from '../../src/tokenizer/index.js';
import { UserError } from '../../src/util/errors.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-tok-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const dir = () => fs.mkdirSync(path.join(tmp, `d${n++}`), { recursive: true }) as string;

const sample = "Hello world! It's 23.5°C — 你好 🤖\n\n  indented\tcode() <|endoftext|> end";

describe('Hugging Face files', () => {
  it('saves GPT-2 and loads it back from vocab.json + merges.txt and from tokenizer.json', () => {
    const d = dir();
    saveTokenizer(gpt2().model, d);
    expect(fs.readFileSync(path.join(d, 'merges.txt'), 'utf8')).toBe(fs.readFileSync(path.join(GPT2_DIR, 'merges.txt'), 'utf8'));
    expect(JSON.parse(fs.readFileSync(path.join(d, 'vocab.json'), 'utf8'))).toEqual(JSON.parse(fs.readFileSync(path.join(GPT2_DIR, 'vocab.json'), 'utf8')));
    const json = JSON.parse(fs.readFileSync(path.join(d, 'tokenizer.json'), 'utf8'));
    expect(json.model.type).toBe('BPE');
    expect(json.added_tokens).toEqual([expect.objectContaining({ id: 50256, content: '<|endoftext|>', special: true })]);
    for (const t of [loadTokenizer(d), loadTokenizer(path.join(d, 'tokenizer.json'))]) {
      expect(t.vocabSize).toBe(50257);
      expect(t.eotToken).toBe(50256);
      for (const allowSpecial of [false, true]) expect(t.encode(sample, { allowSpecial })).toEqual(gpt2().encode(sample, { allowSpecial }));
    }
  });

  it("resolves a --tokenizer value: 'gpt2' is the shipped one, anything else a path", () => {
    expect(resolveTokenizer('gpt2')).toBe(gpt2());
    const d = dir();
    saveTokenizer(gpt2().model, d);
    expect(resolveTokenizer(d).encode(sample)).toEqual(gpt2().encode(sample));
    expect(() => resolveTokenizer(path.join(d, 'missing'))).toThrow(UserError);
  });

  it('reads merges written as [left, right] arrays (newer tokenizer.json)', () => {
    const d = dir();
    saveTokenizer(gpt2().model, d);
    const file = path.join(d, 'tokenizer.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8'));
    json.model.merges = json.model.merges.map((m: string) => m.split(' '));
    fs.writeFileSync(file, JSON.stringify(json));
    expect(loadTokenizer(file).encode(sample)).toEqual(gpt2().encode(sample));
  });

  // A tiny byte-level vocabulary: 256 bytes, merges 'h e' -> 'he', 'he y' -> 'hey', then <|endoftext|>.
  function tiny(edit: (vocab: Record<string, unknown>, merges: string[]) => void = () => {}): string {
    const vocab: Record<string, unknown> = {};
    BYTE_ORDER.forEach((b, i) => (vocab[BYTE_TO_CHAR[b]] = i));
    vocab.he = 256;
    vocab.hey = 257;
    vocab['<|endoftext|>'] = 258;
    const merges = ['#version: 0.2', 'h e', 'he y'];
    edit(vocab, merges);
    const d = dir();
    fs.writeFileSync(path.join(d, 'vocab.json'), JSON.stringify(vocab));
    fs.writeFileSync(path.join(d, 'merges.txt'), merges.join('\n') + '\n');
    return d;
  }

  it('loads a small custom vocabulary', () => {
    const t = loadTokenizer(tiny());
    expect(t.encode('hey hex')).toEqual([257, 220, 256, 87]);
    expect(t.encode('<|endoftext|>', { allowSpecial: true })).toEqual([258]);
    expect(t.decode([257, 258])).toBe('hey<|endoftext|>');
  });

  const bad: Array<[string, (v: Record<string, unknown>, m: string[]) => void, RegExp]> = [
    ['a merge with an unknown token', (_v, m) => m.push('x q'), /merges\.txt line 4: merge "x q" needs the token "xq", which is not in vocab\.json/],
    ['a merge line with three tokens', (_v, m) => m.push('h e y'), /merges\.txt line 4: expected two tokens separated by one space, got "h e y"/],
    ['a fractional id', (v) => (v.he = 2.5), /vocab\.json: entry "he" has id 2\.5; ids must be integers >= 0/],
    ['a duplicate id', (v) => (v.hey = 256), /vocab\.json: entries "he" and "hey" both have id 256/],
    ['a gap in the ids', (v) => (v['<|endoftext|>'] = 300), /vocab\.json: no token has id 258; ids must run from 0 to 300 without gaps/],
    ['no <|endoftext|>', (v) => delete v['<|endoftext|>'], /vocab\.json: there is no <\|endoftext\|> token.*add "<\|endoftext\|>": 258/],
    ['a character outside the byte alphabet', (v) => (v['h€'] = 259), /vocab\.json: token "h€" \(id 259\) contains '€' \(U\+20AC\), which is not in the byte-level alphabet/],
    ['a missing byte', (v) => delete v[BYTE_TO_CHAR[0]], /vocab\.json: no token has id 188|no token for the single byte 0x00/],
  ];
  for (const [what, edit, message] of bad) {
    it(`names the file and entry for ${what}`, () => {
      const d = tiny(edit);
      expect(() => loadTokenizer(d)).toThrow(UserError);
      expect(() => loadTokenizer(d)).toThrow(message);
    });
  }

  it('rejects tokenizer.json settings other than GPT-2\'s (prefix space, normalizer, other pre-tokenizers)', () => {
    const d = dir();
    saveTokenizer(gpt2().model, d);
    const file = path.join(d, 'tokenizer.json');
    const good: Doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    type Doc = { pre_tokenizer: Record<string, unknown>; normalizer: unknown; added_tokens: unknown };
    const edits: Array<[(j: Doc) => void, RegExp]> = [
      [(j) => (j.pre_tokenizer.add_prefix_space = true), /pre_tokenizer .*add_prefix_space":true.* is not supported/],
      [(j) => (j.pre_tokenizer = { type: 'Metaspace' }), /pre_tokenizer \{"type":"Metaspace"\} is not supported/],
      [(j) => (j.normalizer = { type: 'NFC' }), /normalizer \{"type":"NFC"\} is not supported/],
      [(j) => (j.added_tokens = [{ id: 'x', content: 1 }]), /added_tokens\[0\]: expected \{"id": <integer>/],
    ];
    for (const [edit, message] of edits) {
      const j = structuredClone(good);
      edit(j);
      fs.writeFileSync(file, JSON.stringify(j));
      expect(() => loadTokenizer(file)).toThrow(message);
    }
    const seq = structuredClone(good);
    seq.pre_tokenizer = { type: 'Sequence', pretokenizers: [good.pre_tokenizer] };
    fs.writeFileSync(file, JSON.stringify(seq));
    expect(loadTokenizer(file).encode(sample)).toEqual(gpt2().encode(sample));
  });

  it('rejects a non-JSON vocab, a non-BPE tokenizer.json and a missing path with clear messages', () => {
    const d = tiny();
    fs.writeFileSync(path.join(d, 'vocab.json'), '{"a": 1,');
    expect(() => loadTokenizer(d)).toThrow(/vocab\.json is not valid JSON/);
    const file = path.join(dir(), 'tokenizer.json');
    fs.writeFileSync(file, JSON.stringify({ model: { type: 'WordPiece', vocab: {} }, pre_tokenizer: { type: 'BertPreTokenizer' } }));
    expect(() => loadTokenizer(file)).toThrow(/tokenizer\.json: model\.type is "WordPiece"; only BPE models are supported/);
    expect(() => loadTokenizer(path.join(tmp, 'nope'))).toThrow(/tokenizer '.*nope' does not exist/);
    expect(() => loadTokenizer(dir())).toThrow(/has neither vocab\.json \+ merges\.txt nor tokenizer\.json/);
  });
});
