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
import { expectRefused, fuzzReader, writeU32, type JsonCodec, type ReaderTarget } from './harness.js';
import { writeShard } from '../data/helpers.js';
import { fileBytes } from './seeds.js';

const FILE = 'checkpoint.ckpt';
const cfg: GPT2Config = { nLayer: 1, nHead: 2, nEmbd: 8, vocabSize: 20, blockSize: 8 };
const PREAMBLE = 32;

/** The format's checksum (checkpoint.ts header comment): h = (h ^ word) · 0x01000193 over u32 LE words. */
function checksum(bytes: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~3)));
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return h;
}

const headerBytes = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(12, true);

/** The header JSON; `set` pads it with spaces to 64 bytes and fixes its length and checksum. */
const headerJson: JsonCodec = {
  get: (b) => Buffer.from(b.subarray(PREAMBLE, PREAMBLE + headerBytes(b))).toString('utf8'),
  set(b, text) {
    const raw = Buffer.from(text, 'utf8');
    const json = Buffer.concat([raw, Buffer.alloc(Math.ceil(raw.length / 64) * 64 - raw.length, 0x20)]);
    const out = Buffer.concat([b.subarray(0, PREAMBLE), json, b.subarray(PREAMBLE + headerBytes(b))]);
    writeU32(out, 12, json.length);
    writeU32(out, 16, checksum(json));
    return out;
  },
};

/** Recomputes the header checksum and every section checksum the (possibly mutated) header describes. */
function fixChecksums(b: Uint8Array): Uint8Array {
  if (b.length < PREAMBLE || PREAMBLE + headerBytes(b) > b.length) return b;
  const out = b.slice();
  const hbytes = headerBytes(b);
  writeU32(out, 16, checksum(out.subarray(PREAMBLE, PREAMBLE + hbytes)));
  try {
    const { sections } = JSON.parse(headerJson.get(out)) as { sections: { offset: number; bytes: number }[] };
    const start = PREAMBLE + hbytes;
    const end = start + sections.reduce((n, s) => n + s.bytes, 0);
    sections.forEach((s, i) => {
      if (start + s.offset + s.bytes <= end && end + 4 * i + 4 <= out.length) writeU32(out, end + 4 * i, checksum(out.subarray(start + s.offset, start + s.offset + s.bytes)));
    });
  } catch {
    // header not JSON: nothing more to fix
  }
  return out;
}

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
  mutable: [FILE],
  fields: {
    version: { file: FILE, offset: 8, size: 4 },
    headerBytes: { file: FILE, offset: 12, size: 4 },
    reserved: { file: FILE, offset: 20, size: 4 },
  },
  json: { [FILE]: headerJson },
  fixup: (_f, b) => fixChecksums(b),
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
