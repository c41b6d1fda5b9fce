// Fuzzed tinyllm training checkpoints (src/train/checkpoint.ts): raw corruption (stopped by the magic, the
// sizes and the checksums) and, with the checksums recomputed, corrupted header JSON — configs, step,
// section and tensor tables — through readCheckpointHeader, loadCheckpointWeights and loadCheckpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { ShardLoader } from '../../src/data/loader.js';
import { FlatAdamW } from '../../src/train/adamw.js';
import { loadCheckpoint, loadCheckpointWeights, readCheckpointHeader, saveCheckpoint } from '../../src/train/checkpoint.js';
import { expectRefused, fuzzReader, type ReaderTarget } from './harness.js';
import { checkpointMutations, headerJson } from './checkpoint-codec.js';
import { writeShard } from '../data/helpers.js';
import { fileBytes } from './seeds.js';

const FILE = 'checkpoint.ckpt';
const cfg: GPT2Config = { nLayer: 1, nHead: 2, nEmbd: 8, vocabSize: 20, blockSize: 8 };

/** The run's data: one shard, read by a loader whose position the checkpoint saves. */
const SHARD = 'd_train_000000.bin';
const shard = fileBytes((f) => writeShard(f, Array.from({ length: 100 }, (_, i) => i % 20)));
const loaderOf = (dir: string) => new ShardLoader({ pattern: path.join(dir, SHARD), B: 2, T: 4, seed: 9 });

function seed(): Uint8Array {
  const model = new GPT2(cfg, { alloc: plainF32, seed: 3 });
  const opt = new FlatAdamW(model.params.table, plainF32);
  opt.t = 5;
  return fileBytes((f) => {
    fs.writeFileSync(path.join(path.dirname(f), SHARD), shard);
    const loader = loaderOf(path.dirname(f));
    loader.next();
    saveCheckpoint(f, { model, step: 5, tokenizer: 'gpt2', optimizer: opt, run: { lr: 0.001 }, rng: [1, 2, 3, 4], data: loader.getState() });
    loader.close();
  });
}

export const checkpointTarget: ReaderTarget<{ config: GPT2Config; params: number; step: number }> = {
  files: { [FILE]: seed(), [SHARD]: shard },
  ...checkpointMutations(FILE),
  read(dir) {
    const file = path.join(dir, FILE);
    const header = readCheckpointHeader(file);
    const { model } = loadCheckpointWeights(file, { alloc: plainF32 });
    const into = new GPT2(cfg, { alloc: plainF32, seed: null });
    loadCheckpoint(file, into, new FlatAdamW(into.params.table, plainF32));
    const loader = loaderOf(dir);
    try {
      loader.setState(header.data, `checkpoint ${file}: data-loader position`); // as run.ts resumes
    } finally {
      loader.close();
    }
    return { config: model.config, params: model.params.data.length, step: header.step };
  },
  check(r) {
    expect(r.params).toBe(numParams(r.config));
    expect(r.config).toEqual(cfg);
    expect(Number.isInteger(r.step)).toBe(true);
  },
};

describe('fuzzed training checkpoints', () => {
  it('every mutation loads or gives a UserError naming the checkpoint', () => fuzzReader(checkpointTarget, { numRuns: 150 }));

  // Defects the fuzzing found, each replayed on the seed checkpoint (checksums recomputed).
  const t = checkpointTarget;
  it('refuses a null section entry (was a TypeError reading its bytes)', () =>
    expectRefused(t, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, sections: [null] }) }], /checkpoint .*checkpoint\.ckpt: unreadable header \(bad section entry null\)/));

  it('refuses a header whose config does not match its params section before allocating the model', () =>
    expectRefused(
      t,
      [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, config: { ...h.config, nLayer: 2 ** 31 - 1 } }) }],
      /section 'params' holds \d+ bytes, the config needs \d+/,
    ));

  it('quotes a huge config value in at most 80 characters (was the whole value)', async () => {
    const msg = await expectRefused(t, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, config: { ...h.config, nLayer: 'x'.repeat(5000) } }) }], /nLayer must be a positive integer, got "x+…/);
    expect(msg.length).toBeLessThan(300);
  });

  it("keeps JSON.parse's quote of broken header bytes on one line", () =>
    expectRefused(
      t,
      [{ kind: 'edit', file: FILE, apply: (b) => headerJson.set(b, headerJson.get(b).replace(':', ':Z\n')) }],
      /unreadable header \(Unexpected token 'Z', .*"format":Z "tinyllm/,
    ));

  it('refuses a loader position whose shard list is not a list, naming the checkpoint (was a TypeError on resume)', () =>
    expectRefused(t, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, data: { ...h.data, shards: 5 } }) }], /checkpoint .*checkpoint\.ckpt: data-loader position: corrupt loader state \(shard list 5\)/));
});
