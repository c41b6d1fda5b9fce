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
import { expectRefused, fuzzReader, type JsonCodec, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';

const FILE = 'model.tllm';
const model = tinyModel(1, { nLayer: 1, nHead: 2, nEmbd: 32, vocabSize: 260, blockSize: 16 });

/** The JSON header; `set` rewrites the length and keeps the data section at its (aligned) place after it. */
const tllmJson: JsonCodec = {
  get: (b) => Buffer.from(b.subarray(16, 16 + new DataView(b.buffer, b.byteOffset).getUint32(12, true))).toString('utf8'),
  set(b, text) {
    const len = new DataView(b.buffer, b.byteOffset).getUint32(12, true);
    const dataStart = Math.ceil((16 + len) / TLLM_ALIGN) * TLLM_ALIGN;
    const json = Buffer.from(text, 'utf8');
    const head = Buffer.alloc(Math.max(dataStart, Math.ceil((16 + json.length) / TLLM_ALIGN) * TLLM_ALIGN), 0x20);
    head.set(b.subarray(0, 12));
    head.writeUInt32LE(json.length, 12);
    head.set(json, 16);
    return Buffer.concat([head, b.subarray(dataStart)]);
  },
};

const target: ReaderTarget<ReturnType<typeof loadModel>> = {
  files: {
    [FILE]: fileBytes((f) =>
      exportTllm(f, model.config, namedParams(model), {
        scheme: { weights: 'int8', embedding: 'f16', group: 32 },
        tokenizer: { json: tokenizerJsonText(byteTokenizer.model) },
        finetune: { promptTemplate: { ...TINYLLM_TEMPLATE, end: '' }, startRule: 'none', labels: ['a', 'b'] },
      }),
    ),
  },
  fields: { version: { file: FILE, offset: 8, size: 4 }, headerLength: { file: FILE, offset: 12, size: 4 } },
  json: { [FILE]: tllmJson },
  // a private arena per case, so loaded models do not pile up in the shared one
  read: (dir) => loadModel(path.join(dir, FILE), { arena: new Arena({ shared: false, maxBytes: 64 << 20 }) }),
  check(m) {
    expect(m.weights.blocks).toHaveLength(m.config.nLayer);
    expect(numParams(m.config)).toBeGreaterThan(0);
    expect(m.tokenizer.vocabSize).toBeLessThanOrEqual(m.config.vocabSize);
  },
};

describe('fuzzed .tllm model files', () => {
  it('every mutation loads or gives a UserError naming the file', () => fuzzReader(target, { numRuns: 150 }));

  it('refuses a header length past the end of the file and a newer version, saying what to do', async () => {
    await expectRefused(target, [{ kind: 'int', field: 'headerLength', value: 2 ** 32 - 1 }], /model\.tllm: header of 4294967295 bytes runs past the end/);
    await expectRefused(target, [{ kind: 'int', field: 'version', value: 7 }], /model\.tllm: \.tllm version 7, this tinyllm reads version 1; upgrade tinyllm/);
  });
});
