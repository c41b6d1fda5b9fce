// Checkpoint files: exact round trip (weights, moments, states), weights-only load, and clear errors for
// corrupt, truncated, foreign and mismatched files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32, plainF64 } from '../../src/models/gpt2/params.js';
import { FlatAdamW } from '../../src/train/adamw.js';
import { isCheckpoint, loadCheckpoint, loadCheckpointWeights, readCheckpointHeader, saveCheckpoint } from '../../src/train/checkpoint.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from './helpers.js';

const cfg = { nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 50, blockSize: 12 };
const dir = tmpDir('ckpt');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function trainedPair(seed: number) {
  const model = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed });
  const opt = new FlatAdamW(model.params.table, plainF32);
  const rng = new Rng(seed);
  for (let i = 0; i < opt.m.length; i++) {
    opt.m[i] = rng.normal();
    opt.v[i] = rng.random();
  }
  opt.t = 17;
  return { model, opt };
}

describe('checkpoint round trip', () => {
  it('restores weights, moments, step and states exactly', () => {
    const { model, opt } = trainedPair(1);
    const file = path.join(dir, 'a.ckpt');
    saveCheckpoint(file, { model, step: 17, tokenizer: 'gpt2', optimizer: opt, run: { lr: 1e-3 }, rng: [1, 2, 3, 4], data: { position: 5 } });
    expect(isCheckpoint(file)).toBe(true);
    const fresh = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: 99 });
    const fopt = new FlatAdamW(fresh.params.table, plainF32);
    const h = loadCheckpoint(file, fresh, fopt);
    expect(h.step).toBe(17);
    expect(h.tokenizer).toBe('gpt2');
    expect(h.rng).toEqual([1, 2, 3, 4]);
    expect(h.data).toEqual({ position: 5 });
    expect(h.run).toEqual({ lr: 1e-3 });
    expect(fopt.t).toBe(17);
    expect(fresh.params.data).toEqual(model.params.data);
    expect(fopt.m).toEqual(opt.m);
    expect(fopt.v).toEqual(opt.v);
    expect(h.tensors.map((t) => t.name)).toEqual(model.params.names());
    const { model: w } = loadCheckpointWeights(file, { kernels: ref, alloc: plainF32 });
    expect(w.config).toEqual(cfg);
    expect(w.params.data).toEqual(model.params.data);
  });

  it('stores float64 models as float32 and reads them back into float64', () => {
    const m64 = new GPT2(cfg, { kernels: ref, alloc: plainF64, seed: 3 });
    const file = path.join(dir, 'f64.ckpt');
    saveCheckpoint(file, { model: m64, step: 0 });
    const back = new GPT2(cfg, { kernels: ref, alloc: plainF64, seed: null });
    loadCheckpoint(file, back);
    expect(back.params.data).toEqual(Float64Array.from(Float32Array.from(m64.params.data)));
  });
});

describe('bad checkpoints give clear errors', () => {
  const { model, opt } = trainedPair(2);
  const good = path.join(dir, 'good.ckpt');
  saveCheckpoint(good, { model, step: 3, optimizer: opt });
  const bytes = fs.readFileSync(good);
  const load = (b: Uint8Array) => {
    const f = path.join(dir, 'bad.ckpt');
    fs.writeFileSync(f, b);
    const m = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: null });
    return () => loadCheckpoint(f, m, new FlatAdamW(m.params.table, plainF32));
  };

  it('any flipped byte is detected', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, x) => {
        const b = Uint8Array.from(bytes);
        b[at] ^= x;
        expect(load(b)).toThrow(UserError);
        expect(load(b)).toThrow(/checkpoint .*bad\.ckpt: .*(corrupt|magic|version|truncated|extra|header)/);
      }),
      { numRuns: 60, seed: 1 },
    );
    // every byte of the preamble, and the first and last byte of each region
    for (const at of [...Array(32).keys(), 40, bytes.length - 1, bytes.length - 9, bytes.length - 20]) {
      const b = Uint8Array.from(bytes);
      b[at] ^= 1;
      expect(load(b), `byte ${at}`).toThrow(UserError);
    }
  });

  it('truncation says so and how to fix it', () => {
    for (const len of [0, 10, 100, bytes.length - 1, Math.floor(bytes.length / 2)]) {
      expect(load(bytes.subarray(0, len))).toThrow(len < 32 ? /not a tinyllm checkpoint/ : /truncated.*earlier checkpoint/);
    }
  });

  it('a model of another size is refused, naming the difference', () => {
    const other = new GPT2({ ...cfg, nLayer: 3 }, { kernels: ref, alloc: plainF32, seed: null });
    expect(() => loadCheckpoint(good, other)).toThrow(/nLayer=2 vs 3/);
  });

  it('resume from a weights-only file is refused; foreign and missing files are named', () => {
    const wonly = path.join(dir, 'weights.ckpt');
    saveCheckpoint(wonly, { model, step: 3 });
    const m = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: null });
    expect(() => loadCheckpoint(wonly, m, new FlatAdamW(m.params.table, plainF32))).toThrow(/no 'm' section.*optimizer state/);
    expect(readCheckpointHeader(wonly).optimizer).toBeUndefined();
    const foreign = path.join(dir, 'foreign.bin');
    fs.writeFileSync(foreign, Buffer.alloc(2048, 7));
    expect(() => readCheckpointHeader(foreign)).toThrow(/not a tinyllm checkpoint/);
    expect(isCheckpoint(foreign)).toBe(false);
    expect(() => readCheckpointHeader(path.join(dir, 'nope.ckpt'))).toThrow(/cannot open.*ENOENT/);
  });
});
