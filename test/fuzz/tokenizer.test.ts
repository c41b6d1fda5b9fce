// Fuzzed tokenizer files (src/tokenizer/files.ts): vocab.json + merges.txt and tokenizer.json of a small
// byte-level BPE trained here. A file that loads must give a working tokenizer (decode ∘ encode = id).
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTokenizer, loadTokenizerJson, PieceCounter, saveTokenizer, trainBpe, type Tokenizer } from '../../src/tokenizer/index.js';
import { expectRefused, fuzzReader, WHOLE_FILE_JSON, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';

const counter = new PieceCounter();
counter.add('the sensor reads 23.5 C; the sensor reads 24.1 C; gestures: swipe left, swipe right, tap tap tap', true);
const model = trainBpe(counter.counts, { vocabSize: 300, minFrequency: 1 });
const saved = (name: string) => fileBytes((f) => saveTokenizer(model, path.dirname(f)), name);
const sample = 'the sensor reads 99.9 C — swipe 你好 <|endoftext|> tap';

function works(t: Tokenizer): number {
  expect(t.decode(t.encode(sample))).toBe(sample);
  expect(t.decode(t.encode(sample, { allowSpecial: true }))).toBe(sample);
  return t.vocabSize;
}

export const tokenizerTarget: ReaderTarget<number[]> = {
  files: { 'vocab.json': saved('vocab.json'), 'merges.txt': saved('merges.txt'), 'tokenizer.json': saved('tokenizer.json') },
  json: { 'vocab.json': WHOLE_FILE_JSON, 'tokenizer.json': WHOLE_FILE_JSON },
  read: (dir) => [works(loadTokenizer(dir)), works(loadTokenizerJson(path.join(dir, 'tokenizer.json')))],
  check(sizes) {
    for (const n of sizes) expect(n).toBeGreaterThanOrEqual(257);
  },
};

describe('fuzzed tokenizer files', () => {
  it('every mutation loads a working tokenizer or gives a UserError naming the file', () => fuzzReader(tokenizerTarget, { numRuns: 150 }));

  // Defects the fuzzing found, replayed on the seed files.
  const long = 'x'.repeat(5000);
  it('quotes a huge entry in at most 80 characters (was the whole value)', async () => {
    await expectRefused(tokenizerTarget, [{ kind: 'editJson', file: 'vocab.json', apply: (v) => ({ ...v, [long]: -1 }) }], /vocab\.json: entry "x+… has id -1/);
    await expectRefused(tokenizerTarget, [{ kind: 'editJson', file: 'tokenizer.json', apply: (t) => ({ ...t, normalizer: { type: long } }) }], /tokenizer\.json: normalizer \{"type":"x+… is not supported/);
    await expectRefused(tokenizerTarget, [{ kind: 'edit', file: 'merges.txt', apply: (b) => Buffer.concat([b, Buffer.from(`${long}\n`)]) }], /merges\.txt line \d+: expected two tokens separated by one space, got "x+…/);
  });

  it("keeps JSON.parse's quote of broken bytes on one line", () =>
    expectRefused(tokenizerTarget, [{ kind: 'edit', file: 'vocab.json', apply: (b) => Buffer.from(Buffer.from(b).toString().replace(':', ':Z\n')) }], /vocab\.json is not valid JSON: Unexpected token (?:'Z'|Z in JSON at position \d+$)/));
});
