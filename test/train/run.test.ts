// Runs: memory is planned once (no arena growth across steps, validation, samples and checkpoints) and
// Ctrl-C stops at a step boundary with a checkpoint that resumes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { generateText, type TextCodec } from '../../src/models/gpt2/generate.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { Arena } from '../../src/tensor/arena.js';
import { readCheckpointHeader, saveCheckpoint } from '../../src/train/checkpoint.js';
import { runPretraining, valPattern, type RunSettings } from '../../src/train/run.js';
import { Trainer } from '../../src/train/trainer.js';
import { cyclicTokens, tmpDir, writeToyShards } from './helpers.js';

const root = tmpDir('run');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
const quiet = { write: () => true, isTTY: false } as unknown as NodeJS.WriteStream;

describe('memory', () => {
  it('allocates everything by the first step: no arena growth over steps, evaluation, generation, checkpoints', () => {
    const arena = new Arena({ shared: false });
    const cfg = { nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 40, blockSize: 16 };
    const model = new GPT2(cfg, { kernels: ref, alloc: (n) => arena.f32(n), seed: 1 });
    const batch = Int32Array.from(cyclicTokens(3 * 17, 40, 1));
    const tr = new Trainer(model, { next: () => batch }, { B: 3, T: 16, gradAccum: 2, schedule: { lr: 1e-3, warmup: 1, steps: 10, finalLrFrac: 0.1 }, gradClip: 1 });
    const codec: TextCodec = { eotToken: 0, encode: () => [1], createStreamDecoder: () => ({ push: (i) => String(i % 10), flush: () => '' }) };
    const cycle = () => {
      tr.trainStep();
      tr.evaluate({ next: () => batch }, 2);
      generateText(model, codec, 'x', { maxTokens: 20, seed: 1 });
      saveCheckpoint(path.join(root, 'mem.ckpt'), { model, step: tr.step, optimizer: tr.optimizer });
    };
    cycle();
    const used = arena.used;
    for (let i = 0; i < 4; i++) cycle();
    expect(arena.used).toBe(used);
  });
});

describe('interruption', () => {
  it('Ctrl-C (a real SIGINT) finishes the step, saves a checkpoint and the run resumes from it', async () => {
    const data = writeToyShards(path.join(root, 'data'), 64, 3000, 600);
    const s: RunSettings = {
      model: 'test',
      config: { nLayer: 1, nHead: 2, nEmbd: 16, vocabSize: 64, blockSize: 8 },
      data,
      B: 2,
      T: 8,
      totalBatch: 16,
      steps: 10,
      lr: 1e-3,
      warmup: 2,
      finalLrFrac: 0.1,
      weightDecay: 0.1,
      gradClip: 1,
      valEvery: 0,
      valBatches: 0,
      sampleEvery: 0,
      sampleTokens: 4,
      ckptEvery: 0,
      logEvery: 5,
      seed: 3,
      tokenizer: null,
    };
    const out = path.join(root, 'int');
    // the signal is delivered by the event loop, which the training loop must let run between steps
    const r = await runPretraining(s, { out, stream: quiet, kernels: ref, onStep: (st) => st.step === 4 && process.kill(process.pid, 'SIGINT') });
    expect(r.interrupted).toBe(true);
    expect(r.step).toBe(4);
    expect(readCheckpointHeader(r.checkpoint).step).toBe(4);
    expect(process.listenerCount('SIGINT')).toBe(0);
    const r2 = await runPretraining(s, { out, stream: quiet, kernels: ref, resume: r.checkpoint });
    expect(r2.step).toBe(10);
    expect(r2.interrupted).toBe(false);
    expect(r2.unigramBaseline).toBeNull(); // validation off
  });
});

describe('validation shards', () => {
  it('are found beside the training data: same directory, _val prefix or _val file', () => {
    expect(valPattern(root)).toBe(root);
    expect(valPattern('d/sensor_train')).toBe('d/sensor_val');
    expect(valPattern('d/sensor_train_000003.bin')).toBe('d/sensor_val_000003.bin');
    expect(valPattern('d/other.bin')).toBeNull();
  });
});
