// Fuzzed .tllm model files (src/export/tllm.ts read by the runtime's loadModel): the preamble's version and header
// length, the JSON header (config, quantization, tokenizer, fine-tune fields, tensor table) and the tensor data,
// including the embedded tokenizer.json. Every case loads a usable model or gives a one-line UserError naming the file.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportTllm } from '../../src/export/deploy.js';
import { TLLM_ALIGN } from '../../src/export/tllm.js';
import { numParams } from '../../src/models/gpt2/config.js';
import { loadModel } from '../../src/runtime/model.js';
import { Arena } from '../../src/tensor/arena.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { tokenizerJsonText } from '../../src/tokenizer/files.js';
import { byteTokenizer, namedParams, tinyModel } from '../runtime/helpers.js';
import { expectRefused, fuzzReader, type ReaderTarget } from './harness.js';
import { fixHeaderCrc, headerCodec } from './header-crc.js';
import { fileBytes } from './seeds.js';

const FILE = 'model.tllm';
const model = tinyModel(1, { nLayer: 1, nHead: 2, nEmbd: 32, vocabSize: 260, blockSize: 16 });

const finetune = { promptTemplate: { ...TINYLLM_TEMPLATE, end: '' }, startRule: 'none', labels: ['a', 'b'] };

const target: ReaderTarget<ReturnType<typeof loadModel>> = {
  files: {
    [FILE]: fileBytes((f) =>
      exportTllm(f, model.config, namedParams(model), {
        scheme: { weights: 'int8', embedding: 'f16', group: 32 },
        tokenizer: { json: tokenizerJsonText(byteTokenizer.model) },
        finetune,
      }),
    ),
  },
  fields: { version: { file: FILE, offset: 8, size: 4 }, headerLength: { file: FILE, offset: 12, size: 4 }, headerCrc: { file: FILE, offset: 16, size: 4 } },
  // the data section stays at its absolute, aligned offsets
  json: { [FILE]: headerCodec(TLLM_ALIGN, false) },
  fixup: (_f, b) => fixHeaderCrc(b),
  // a private arena per case, so loaded models do not pile up in the shared one
  read: (dir) => loadModel(path.join(dir, FILE), { arena: new Arena({ shared: false, maxBytes: 64 << 20 }) }),
  check(m, _dir, c) {
    if (!c.fix) expect([m.config, m.finetune]).toEqual([model.config, finetune]); // the header's CRC was not repaired: it is the one written
    expect(m.weights.blocks).toHaveLength(m.config.nLayer);
    expect(numParams(m.config)).toBeGreaterThan(0);
    expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(m.config.vocabSize);
  },
};

describe('fuzzed .tllm model files', () => {
  it('every mutation loads or gives a UserError naming the file', () => fuzzReader(target, { numRuns: 150 }));

  it('refuses a header length past the end of the file and a newer version, saying what to do', async () => {
    await expectRefused(target, [{ kind: 'int', field: 'headerLength', value: 2 ** 32 - 1 }], /model\.tllm: header of 4294967295 bytes runs past the end/);
    await expectRefused(target, [{ kind: 'int', field: 'version', value: 7 }], /model\.tllm: \.tllm version 7, this tinyllm reads versions 1 to 2; upgrade tinyllm/);
  });

  it('refuses nLayer = 2^31 - 1 by its tensor count, before listing the tensors it needs (the list filled the heap)', () =>
    expectRefused(
      target,
      [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, config: { ...h.config, nLayer: 2 ** 31 - 1 } }) }],
      /model\.tllm: header config\.nLayer is 2147483647, but the tensor table lists only \d+ tensors/,
    ));

  it('refuses a changed header whose checksum was not repaired (version 1 had none: nHead 2 -> 1 loaded as another model)', async () => {
    const nHead1 = { kind: 'editJson' as const, file: FILE, apply: (h: any) => ({ ...h, config: { ...h.config, nHead: 1 } }) };
    await expectRefused(target, { mutations: [nHead1], fix: false }, /model\.tllm: header checksum mismatch: the header is corrupted; re-export the model/);
    await expectRefused(target, { mutations: [{ kind: 'flip', file: FILE, bits: [8 * 40] }], fix: false }, /model\.tllm: header checksum mismatch/);
  });
});
