// Fuzzed llm.c GPT-2 checkpoints (src/export/llmc.ts): the int32[256] header (magic, version, maxT, V, L,
// NH, C, Vp) and the float32 (version 3) or bfloat16 (version 5) body, read by readLlmcCheckpoint and
// through loadWeights' format detection.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWeights } from '../../src/export/load.js';
import { readLlmcCheckpoint, writeLlmcCheckpoint } from '../../src/export/llmc.js';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { randomParams } from '../export/fixtures.js';
import { expectRefused, fuzzReader, type IntField, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';

const cfg: GPT2Config = { blockSize: 4, vocabSize: 20, nLayer: 1, nHead: 2, nEmbd: 4 };
const { params } = randomParams(cfg, 1);
const F32 = 'model.bin';
const BF16 = 'model_bf16.bin';

const header = (file: string): Record<string, IntField> =>
  Object.fromEntries(['magic', 'version', 'maxT', 'V', 'L', 'NH', 'C', 'Vp'].map((k, i) => [`${file}:${k}`, { file, offset: 4 * i, size: 4 as const }]));

export const llmcTarget: ReaderTarget<GPT2Config[]> = {
  files: {
    [F32]: fileBytes((f) => writeLlmcCheckpoint(f, cfg, params)),
    [BF16]: fileBytes((f) => writeLlmcCheckpoint(f, cfg, params, { dtype: 'bf16' })),
  },
  fields: { ...header(F32), ...header(BF16) },
  read(dir) {
    return [F32, BF16].map((f) => {
      const w = readLlmcCheckpoint(path.join(dir, f));
      expect(w.flat.length).toBe(numParams(w.config));
      expect(loadWeights(path.join(dir, f)).config).toEqual(w.config);
      return w.config;
    });
  },
  check(configs) {
    for (const c of configs) expect(c.nEmbd % c.nHead).toBe(0);
  },
};

describe('fuzzed llm.c checkpoints', () => {
  it('every mutation reads back or gives a UserError naming the file', () => fuzzReader(llmcTarget, { numRuns: 150 }));

  it('refuses a header with L = 2^31 - 1 by its size, without listing 2^31 layers (was out of memory in numParams)', () =>
    expectRefused(llmcTarget, [{ kind: 'int', field: `${F32}:L`, value: 2 ** 31 - 1 }], /model\.bin: size is \d+ bytes but the header \(.*L=2147483647.*\) needs/));
});
