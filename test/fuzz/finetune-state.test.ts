// Fuzzed fine-tune state files (src/finetune/state.ts, checkpoint format version 2 with the method in the header,
// trainable-set moments and a 'lora' section): every mutation, with checksums recomputed, either resumes a LoRA
// fine-tune (header method -> Finetuner -> loadFinetuneState) and loads merged weights, or gives a UserError.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { Finetuner } from '../../src/finetune/finetuner.js';
import { loadFinetuneState, saveFinetuneState } from '../../src/finetune/state.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { loadCheckpointWeights, readCheckpointHeader } from '../../src/train/checkpoint.js';
import { expectRefused, fuzzReader, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';
import { checkpointMutations } from './checkpoint-codec.js';

const FILE = 'finetune.ckpt';
const cfg: GPT2Config = { nLayer: 2, nHead: 2, nEmbd: 8, vocabSize: 20, blockSize: 8 };
const schedule = { lr: 1e-3, warmup: 1, steps: 10, finalLrFrac: 0.1 };

function seed(): Uint8Array {
  const model = new GPT2(cfg, { alloc: plainF32, seed: 3 });
  const ft = new Finetuner(model, { method: { kind: 'lora', lora: { r: 2, alpha: 4, dropout: 0.1, targets: ['attn.c_attn', 'mlp.c_proj'] } }, schedule, gradClip: 1 });
  ft.trainStep({ inputs: Int32Array.from({ length: 8 }, (_, i) => i), targets: Int32Array.from({ length: 8 }, (_, i) => (i < 6 ? -1 : i)), B: 1, T: 8 });
  return fileBytes((f) => saveFinetuneState(f, ft, { run: { lr: 0.001 } }));
}

const target: ReaderTarget<{ config: GPT2Config; step: number; kind: string }> = {
  files: { [FILE]: seed() },
  ...checkpointMutations(FILE),
  read(dir) {
    const file = path.join(dir, FILE);
    const header = readCheckpointHeader(file);
    const { model } = loadCheckpointWeights(file, { alloc: plainF32 });
    const method = header.finetune?.method ?? { kind: 'full' as const };
    const ft = new Finetuner(new GPT2(header.config, { alloc: plainF32, seed: null }), { method, schedule, gradClip: 1 });
    loadFinetuneState(file, ft);
    return { config: model.config, step: ft.step, kind: method.kind };
  },
  check(r, _dir, c) {
    // with the checksums repaired a changed nHead is a consistent file (same sizes); without, only the saved model reads
    if (!c.fix) expect(r.config).toEqual(cfg);
    expect(numParams(r.config)).toBe(numParams(cfg));
    expect(Number.isInteger(r.step)).toBe(true);
  },
};

describe('fuzzed fine-tune state files', () => {
  it('every mutation resumes or gives a UserError naming the checkpoint', () => fuzzReader(target, { numRuns: 100 }));

  it('refuses a LoRA rank that does not match the lora section', () =>
    expectRefused(
      target,
      [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, finetune: { method: { ...h.finetune.method, lora: { ...h.finetune.method.lora, r: 3 } } } }) }],
      /section 'm' holds \d+ bytes, the fine-tune method needs \d+/,
    ));

  it('refuses a changed header whose checksum was not repaired (nHead 2 -> 1 read as a different model, FUZZ_SEED=1270511582)', () =>
    expectRefused(
      target,
      { mutations: [{ kind: 'json', file: FILE, path: [424, 146], op: 'set', value: 1 }], fix: false },
      /checkpoint .*finetune\.ckpt: header checksum mismatch \(the file is corrupt\)/,
    ));

  it('refuses nLayer = 2^31 under a LoRA method by its section sizes, before listing the adapters (listing them filled the heap: FUZZ_SEED=381 crashed the worker)', () =>
    expectRefused(
      target,
      { mutations: [{ kind: 'json', file: FILE, path: [712, 730, 6], op: 'set', value: 2 ** 31 }], fix: true },
      /finetune\.ckpt: unreadable header \(section 'params' holds \d+ bytes, the fine-tune method needs \d+\)/,
    ));

  it('refuses an unknown method kind', () =>
    expectRefused(target, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, finetune: { method: { kind: 'qlora' } } }) }], /unknown fine-tuning method "qlora"/));
});
