// Training: schedule, AdamW decay groups, memorization of a small batch, loss well below the unigram
// baseline on a learnable stream, and bit-exact resumption from a checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { availableTiers, createKernels, ref } from '../../src/kernels/index.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { FlatAdamW, clipGlobalNorm } from '../../src/train/adamw.js';
import { MetricsLog } from '../../src/train/metrics.js';
import { runPretraining, type RunSettings } from '../../src/train/run.js';
import { lrAt } from '../../src/train/schedule.js';
import { Trainer, type BatchSource } from '../../src/train/trainer.js';
import { cyclicTokens, tmpDir, writeToyShards } from './helpers.js';

const tiny = { nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 64, blockSize: 16 };

describe('schedule and optimizer', () => {
  it('warms up linearly, then decays by a cosine to the final fraction', () => {
    const s = { lr: 1e-3, warmup: 10, steps: 110, finalLrFrac: 0.1 };
    expect(lrAt(0, s)).toBeCloseTo(1e-4, 12);
    expect(lrAt(9, s)).toBeCloseTo(1e-3, 12);
    expect(lrAt(60, s)).toBeCloseTo(0.55e-3, 12);
    expect(lrAt(110, s)).toBeCloseTo(1e-4, 12);
    for (let i = 10; i < 110; i++) expect(lrAt(i + 1, s)).toBeLessThanOrEqual(lrAt(i, s));
  });

  it('decays only 2-D tensors, in contiguous llm.c-order segments', () => {
    const model = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 1 });
    const opt = new FlatAdamW(model.params.table, plainF32, { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.5 });
    // zero gradients: only weight decay moves parameters
    const before = Float32Array.from(model.params.data);
    opt.step(ref, model.params.data, new Float32Array(model.params.size), 0.1);
    for (const e of model.params.table) {
      const moved = model.params.get(e.name).some((x, i) => x !== before[e.offset + i]);
      const hasNonZero = before.subarray(e.offset, e.offset + e.size).some((x) => x !== 0);
      if (hasNonZero) expect(moved, e.name).toBe(e.shape.length === 2);
    }
    expect(opt.segments.length).toBeLessThan(model.params.table.length);
  });

  it('clips the global gradient norm', () => {
    const g = Float32Array.of(3, 4);
    expect(clipGlobalNorm(g, 1)).toBeCloseTo(5, 6);
    expect(Math.hypot(g[0], g[1])).toBeCloseTo(1, 5);
    const h = Float32Array.of(0.3, 0.4);
    clipGlobalNorm(h, 1);
    expect([...h]).toEqual([Float32Array.of(0.3)[0], Float32Array.of(0.4)[0]]);
  });
});

/** Serves the same batch forever. */
function fixedBatch(B: number, T: number, V: number): BatchSource {
  const b = Int32Array.from(cyclicTokens(B * (T + 1), V, 5, 1)); // uniformly random tokens
  return { next: () => b };
}

describe('training', () => {
  it('memorizes a small batch (loss -> near 0)', () => {
    const model = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 2 });
    const tr = new Trainer(model, fixedBatch(2, 16, 64), {
      B: 2,
      T: 16,
      gradAccum: 1,
      schedule: { lr: 3e-3, warmup: 5, steps: 150, finalLrFrac: 1 },
      gradClip: 1,
    });
    const first = tr.trainStep().loss;
    let loss = first;
    for (let i = 1; i < 150; i++) loss = tr.trainStep().loss;
    expect(first).toBeGreaterThan(3.5); // ≈ ln 64 = 4.16
    expect(loss).toBeLessThan(0.05);
  });

  it('learns a noisy cyclic stream to well below its unigram baseline', () => {
    const V = 64;
    const toks = cyclicTokens(20000, V, 9);
    const counts = new Array(V).fill(0);
    for (const t of toks) counts[t]++;
    const unigram = -counts.reduce((s, c) => (c ? s + (c / toks.length) * Math.log(c / toks.length) : s), 0);
    const T = 16;
    const B = 4;
    let pos = 0;
    const batch = new Int32Array(B * (T + 1));
    const src: BatchSource = {
      next() {
        for (let i = 0; i < batch.length; i++) batch[i] = toks[(pos + i) % toks.length];
        pos += B * T;
        return batch;
      },
    };
    const model = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 3 });
    const tr = new Trainer(model, src, { B, T, gradAccum: 1, schedule: { lr: 3e-3, warmup: 10, steps: 120, finalLrFrac: 0.1 }, gradClip: 1 });
    for (let i = 0; i < 120; i++) tr.trainStep();
    pos = 10000;
    const val = tr.evaluate(src, 8);
    // the stream's true entropy is about 0.9·(-ln 0.9...) ≈ 0.74 nats; unigram ≈ ln 64
    expect(unigram).toBeGreaterThan(4);
    expect(val).toBeLessThan(0.5 * unigram);
  });

  it('gradient accumulation over 2 micro-batches equals one batch of twice the rows', () => {
    const T = 8;
    const rows = Int32Array.from(cyclicTokens(4 * (T + 1), 64, 4, 1));
    const a = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 4 });
    const b = new GPT2(tiny, { kernels: ref, alloc: plainF32, seed: 4 });
    const sched = { lr: 1e-3, warmup: 1, steps: 10, finalLrFrac: 1 };
    const big = new Trainer(a, { next: () => rows }, { B: 4, T, gradAccum: 1, schedule: sched, gradClip: 0 });
    let half = 0;
    const small = new Trainer(b, { next: () => rows.subarray((half++ % 2) * 2 * (T + 1)) }, { B: 2, T, gradAccum: 2, schedule: sched, gradClip: 0 });
    const la = big.trainStep().loss;
    const lb = small.trainStep().loss;
    expect(lb).toBeCloseTo(la, 5);
    for (let i = 0; i < a.params.size; i += 7) expect(b.params.data[i]).toBeCloseTo(a.params.data[i], 5);
  });
});

describe('runs and resume', () => {
  const best = availableTiers()[availableTiers().length - 1];
  const settings = (data: string, steps: number): RunSettings => ({
    model: 'test',
    config: tiny,
    data,
    B: 2,
    T: 8,
    totalBatch: 32,
    steps,
    lr: 2e-3,
    warmup: 3,
    finalLrFrac: 0.1,
    weightDecay: 0.1,
    gradClip: 1,
    valEvery: 4,
    valBatches: 2,
    sampleEvery: 0,
    sampleTokens: 8,
    ckptEvery: 5,
    logEvery: 1,
    seed: 7,
    tokenizer: null,
  });
  const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;
  const trainLosses = (dir: string) =>
    new MetricsLog(path.join(dir, 'metrics.jsonl')).read().flatMap((r) => (r.type === 'train' ? [[r.step, r.loss]] : []));

  it.each(['ref', best])('k steps + resume + (n-k) steps gives bit-identical losses to n steps straight (%s kernels)', async (tier) => {
    const kernels = createKernels(tier, { threads: tier === 'ref' ? 1 : 2 });
    const root = tmpDir('resume');
    const data = writeToyShards(path.join(root, 'data'), 64, 4000, 1000);
    const n = 12;
    const straight = path.join(root, 'straight');
    await runPretraining(settings(data, n), { out: straight, stream: quiet, kernels });
    const split = path.join(root, 'split');
    const first = await runPretraining(settings(data, n), { out: split, stream: quiet, kernels, stopAt: 7 });
    expect(first.step).toBe(7);
    expect(first.unigramBaseline).toBeGreaterThan(3.5); // about ln 64 for the noisy cycle
    const second = await runPretraining(settings(data, n), { out: split, stream: quiet, kernels, resume: path.join(split, 'checkpoint.ckpt') });
    expect(second.step).toBe(n);
    const a = trainLosses(straight);
    const b = trainLosses(split);
    expect(a.length).toBe(n);
    expect(b).toEqual(a);
    expect(fs.readFileSync(path.join(split, 'checkpoint.ckpt')).equals(fs.readFileSync(path.join(straight, 'checkpoint.ckpt')))).toBe(true);
    const svg = fs.readFileSync(path.join(straight, 'loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('validation');
    const config = JSON.parse(fs.readFileSync(path.join(straight, 'config.json'), 'utf8'));
    expect(config.gradAccum).toBe(2);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
