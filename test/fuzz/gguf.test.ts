// Fuzzed GGUF files (src/export/gguf.ts, gguf-gpt2.ts) through loadWeights: one written by our writer (Q8_0) and
// one by gguf-py (llama.cpp's Python writer, F16; test/fixtures/export). Named integer fields are the header
// counts, the length of the token list, the hyperparameters and a tensor's dims, type and offset, found in the
// seed bytes by their key or tensor name.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadWeights } from '../../src/export/load.js';
import { saveGgufGPT2 } from '../../src/export/gguf-gpt2.js';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { randomParams, tinyTokenizer } from '../export/fixtures.js';
import { expectRefused, fuzzReader, type IntField, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';

const cfg: GPT2Config = { blockSize: 4, vocabSize: 260, nLayer: 1, nHead: 2, nEmbd: 32 };
const OURS = 'ours-q8_0.gguf';
const PY = 'gguf-py-f16.gguf';
const files: Record<string, Uint8Array> = {
  [OURS]: fileBytes((f) => saveGgufGPT2(f, cfg, randomParams(cfg, 2).params, tinyTokenizer().model, { dtype: 'q8_0' })),
  [PY]: new Uint8Array(fs.readFileSync(fileURLToPath(new URL('../fixtures/export/tiny-gpt2-f16.gguf', import.meta.url)))),
};

/** Where a string is stored in a file (its u64 length first): the offset just after it. */
function after(bytes: Uint8Array, text: string): number {
  const at = Buffer.from(bytes).indexOf(Buffer.from(text));
  if (at < 8) throw new Error(`${text} not found in the seed`);
  return at + Buffer.byteLength(text);
}

function fieldsOf(file: string): Record<string, IntField> {
  const b = files[file];
  const f = (name: string, offset: number, size: 4 | 8): [string, IntField] => [`${file}:${name}`, { file, offset, size }];
  const u32Value = (key: string) => after(b, key) + 4; // the value follows its u32 type
  const embd = after(b, 'token_embd.weight'); // in the tensor infos: n_dims u32, dims u64 × 2, type u32, offset u64
  return Object.fromEntries([
    f('magic', 0, 4),
    f('version', 4, 4),
    f('tensors', 8, 8),
    f('kvs', 16, 8),
    f('first key length', 24, 8),
    f('token count', after(b, 'tokenizer.ggml.tokens') + 8, 8),
    f('merge count', after(b, 'tokenizer.ggml.merges') + 8, 8),
    f('block_count', u32Value('gpt2.block_count'), 4),
    f('context_length', u32Value('gpt2.context_length'), 4),
    f('embedding_length', u32Value('gpt2.embedding_length'), 4),
    f('head_count', u32Value('gpt2.attention.head_count'), 4),
    f('alignment', u32Value('general.alignment'), 4),
    f('embd n_dims', embd, 4),
    f('embd dim 0', embd + 4, 8),
    f('embd dim 1', embd + 12, 8),
    f('embd type', embd + 20, 4),
    f('embd offset', embd + 24, 8),
  ]);
}

const ggufTarget: ReaderTarget<GPT2Config[]> = {
  files,
  fields: { ...fieldsOf(OURS), ...fieldsOf(PY) },
  read(dir) {
    return [OURS, PY].map((f) => {
      const w = loadWeights(path.join(dir, f));
      expect(w.flat.length).toBe(numParams(w.config));
      if (w.tokenizer) expect(w.tokenizer.vocabSize).toBe(w.config.vocabSize); // a file may carry no tokenizer
      return w.config;
    });
  },
  check(configs) {
    for (const c of configs) expect(c.nEmbd % c.nHead).toBe(0);
  },
};

describe('fuzzed GGUF files', () => {
  it('every mutation reads back or gives a UserError naming the file', () => fuzzReader(ggufTarget, { numRuns: 150 }));

  it('refuses a token list claiming 2^50 strings by the bytes left, before allocating them', () =>
    expectRefused(ggufTarget, [{ kind: 'int', field: `${OURS}:token count`, value: 2 ** 50 }], /claims 1125899906842624 string items, more than the \d+ bytes left/));

  it('refuses hyperparameters the tensors do not back (block count 2^31 - 1, context 2^31 - 1)', async () => {
    await expectRefused(ggufTarget, [{ kind: 'int', field: `${PY}:block_count`, value: 2 ** 31 - 1 }], /block_count is 2147483647 but the file has 16 tensors/);
    await expectRefused(ggufTarget, [{ kind: 'int', field: `${OURS}:context_length`, value: 2 ** 31 - 1 }], /'position_embd.weight' has dims \[32,4\], expected \[32,2147483647\]/);
  });

  it('refuses a tensor reaching past the end of the file, another magic and a big-endian version', async () => {
    await expectRefused(ggufTarget, [{ kind: 'int', field: `${OURS}:magic`, value: 0x46554748 }], /unrecognised weights file; .* a GGUF file/);
    await expectRefused(ggufTarget, [{ kind: 'int', field: `${OURS}:embd dim 1`, value: 2 ** 40 }], /"token_embd.weight" \(Q8_0 \[32,1099511627776\]\) ends at byte \d+, past the end/);
    await expectRefused(ggufTarget, [{ kind: 'int', field: `${PY}:version`, value: 3 << 24 }], /big-endian GGUF/);
  });
});
