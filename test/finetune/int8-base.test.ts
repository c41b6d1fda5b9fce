// LoRA over a frozen int8 base (src/finetune/int8-base.ts, GPT2's FrozenBase): adapter gradients against finite
// differences of the same int8-base forward (float64, ref kernels, random int8 values, scales and blocks); the
// forward's logits equal the .tllm runtime's on the same quantized file; training changes only the adapters (int8
// bytes, scales and f32 tensors bit-identical); a checkpoint of it is a full f32 checkpoint of the dequantized base.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dequantizeInt8 } from '../../src/export/quantize.js';
import { Finetuner } from '../../src/finetune/finetuner.js';
import { int8ModelFromTllm, int8ModelFromWeights } from '../../src/finetune/int8-base.js';
import { LORA_SITES, type FinetuneMethod } from '../../src/finetune/method.js';
import { loadFinetuneState, saveFinetuneState } from '../../src/finetune/state.js';
import { ref } from '../../src/kernels/index.js';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import type { Matrix } from '../../src/models/gpt2/matrix.js';
import { GPT2, type FrozenBase } from '../../src/models/gpt2/model.js';
import { plainF64 } from '../../src/models/gpt2/params.js';
import { Decoder, loadModel } from '../../src/runtime/index.js';
import { loadCheckpointWeights } from '../../src/train/checkpoint.js';
import { Rng } from '../../src/util/rng.js';
import { exportTiny, namedParams, tempDir, tinyModel } from '../runtime/helpers.js';
import { expectAdapterGrads, modelShapes, paddedBatch } from './helpers.js';

const schedule = { lr: 1e-2, warmup: 0, steps: 10, finalLrFrac: 0.1 };

/** Random int8 values and scales (rows, cols) with `block` values per scale. */
function randomInt8(rng: Rng, rows: number, cols: number, block: number): Matrix {
  const q = Int8Array.from({ length: rows * cols }, () => rng.int(255) - 127);
  const scales = Float32Array.from({ length: rows * Math.ceil(cols / block) }, () => (0.2 + rng.random()) / 127);
  return { kind: 'int8', q, scales, block };
}

function randomBase(config: GPT2Config, seed: number, block: number): FrozenBase {
  const rng = new Rng(seed);
  const C = config.nEmbd;
  return {
    wte: randomInt8(rng, config.vocabSize, C, block),
    h: Array.from({ length: config.nLayer }, () => ({
      qkvw: randomInt8(rng, 3 * C, C, block),
      attprojw: randomInt8(rng, C, C, block),
      fcw: randomInt8(rng, 4 * C, C, block),
      fcprojw: randomInt8(rng, C, 4 * C, block),
    })),
  };
}

describe('LoRA over a frozen int8 base', () => {
  it('adapter gradients match finite differences of the int8-base forward (float64, ref kernels)', () => {
    fc.assert(
      fc.property(modelShapes, fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 3 }), fc.subarray([...LORA_SITES], { minLength: 1 }), ({ config, V, B, T, seed }, block, r, targets) => {
        const { nLayer } = config;
        const model = new GPT2(config, { kernels: ref, alloc: plainF64, seed, frozen: randomBase(config, seed + 3, block) });
        expect(model.params.size).toBe(config.blockSize * config.nEmbd + nLayer * (4 + 3 + 1 + 4 + 1) * config.nEmbd + 2 * config.nEmbd); // no matrices
        const rng = new Rng(seed + 1);
        for (let i = 0; i < model.params.data.length; i++) model.params.data[i] += rng.normal(0, 0.3);
        const method: FinetuneMethod = { kind: 'lora', lora: { r, alpha: 2 * r + 1, dropout: 0, targets } };
        const ft = new Finetuner(model, { method, schedule, gradClip: 0, seed });
        expectAdapterGrads(model, ft.lora!, paddedBatch(V, B, T, seed + 7), rng);
      }),
      { numRuns: 20, seed: 31 },
    );
  });

  it('refuses to train anything but adapters over a frozen base', () => {
    const config = { nLayer: 1, nHead: 1, nEmbd: 4, vocabSize: 5, blockSize: 4 };
    const model = new GPT2(config, { kernels: ref, alloc: plainF64, seed: 1, frozen: randomBase(config, 1, 2) });
    expect(() => new Finetuner(model, { method: { kind: 'full' }, schedule, gradClip: 0 })).toThrow(/LoRA adapters only/);
    expect(() => new Finetuner(model, { method: { kind: 'zo', zo: { eps: 1e-3, n: 1, lora: null } }, schedule, gradClip: 0 })).toThrow(/LoRA adapters only/);
  });

  it("the forward's logits equal the .tllm runtime's on the same int8 file", () => {
    const dir = tempDir();
    try {
      for (const group of [0, 32] as const) {
        const file = exportTiny(tinyModel(41), { weights: 'int8', embedding: 'int8', group }, dir, `g${group}.tllm`);
        const { model } = int8ModelFromTllm(file);
        const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 257);
        model.forward(Int32Array.from(ids), null, 1, ids.length);
        const V = model.config.vocabSize;
        const ours = model.logits().slice(0, ids.length * V);
        const dec = new Decoder(loadModel(file));
        let worst = 0;
        ids.forEach((id, t) => {
          const theirs = dec.feed([id]);
          for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(ours[t * V + v] - theirs[v]));
        });
        expect(worst).toBeLessThan(2e-4);
        // the f32 model's logits differ by more: the test sees the int8 weights
        const f32 = tinyModel(41);
        f32.forward(Int32Array.from(ids), null, 1, ids.length);
        let off = 0;
        for (let i = 0; i < ours.length; i++) off = Math.max(off, Math.abs(ours[i] - f32.logits()[i]));
        expect(off).toBeGreaterThan(10 * worst);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('training changes only the adapters; its checkpoint holds the dequantized base and resumes', () => {
    const dir = tempDir();
    try {
      const src = tinyModel(43);
      const { model, frozenBytes } = int8ModelFromWeights(src.config, (n) => namedParams(src).get(n), 32);
      const C = src.config.nEmbd;
      const int8Bytes = (rows: number, cols: number) => rows * cols + 4 * rows * Math.ceil(cols / 32);
      expect(frozenBytes).toBe(int8Bytes(src.config.vocabSize, C) + src.config.nLayer * (int8Bytes(3 * C, C) + int8Bytes(C, C) + int8Bytes(4 * C, C) + int8Bytes(C, 4 * C)));
      const frozen = model.frozen!;
      const bytesOf = (m: Matrix) => (m.kind === 'int8' ? Buffer.concat([Buffer.from(m.q.buffer, m.q.byteOffset, m.q.byteLength), Buffer.from(m.scales.buffer, m.scales.byteOffset, m.scales.byteLength)]) : Buffer.alloc(0));
      const all = () => Buffer.concat([frozen.wte, ...frozen.h.flatMap((b) => [b.qkvw, b.attprojw, b.fcw, b.fcprojw])].map(bytesOf));
      const before = all();
      const vectors = Float32Array.from(model.params.data);
      const method: FinetuneMethod = { kind: 'lora', lora: { r: 2, alpha: 4, dropout: 0.1, targets: [...LORA_SITES] } };
      const ft = new Finetuner(model, { method, schedule, gradClip: 1, seed: 5 });
      const adapter0 = Float32Array.from(ft.lora!.params);
      const batch = paddedBatch(src.config.vocabSize, 2, 12, 9, 4);
      const first = ft.trainStep(batch).loss;
      let last = first;
      for (let i = 0; i < 8; i++) last = ft.trainStep(batch).loss;
      expect(last).toBeLessThan(first);
      expect(all().equals(before)).toBe(true);
      expect(Buffer.from(model.params.data.buffer, model.params.data.byteOffset, model.params.data.byteLength).equals(Buffer.from(vectors.buffer))).toBe(true);
      expect(ft.lora!.params.some((x, i) => x !== adapter0[i])).toBe(true);

      // a state checkpoint: full f32 weights (base dequantized), readable as a plain model with the adapter merged
      const state = path.join(dir, 'state.ckpt');
      saveFinetuneState(state, ft);
      const plain = loadCheckpointWeights(state, { kernels: ref }).model;
      const wq = frozen.h[1].fcw as Extract<Matrix, { kind: 'int8' }>;
      const deq = dequantizeInt8({ q: wq.q, scales: wq.scales, rows: 4 * C, cols: C, group: 32 });
      const merged = plain.params.get('h.1.mlp.c_fc.weight');
      const lora = ft.lora!;
      const A = lora.get('h.1.mlp.c_fc.lora_A');
      const Bm = lora.get('h.1.mlp.c_fc.lora_B');
      for (let o = 0; o < 4 * C; o += 7) {
        for (let i = 0; i < C; i += 5) {
          let d = 0;
          for (let k = 0; k < 2; k++) d += Bm[o * 2 + k] * A[k * C + i];
          expect(merged[o * C + i]).toBeCloseTo(deq[o * C + i] + lora.scaling * d, 5);
        }
      }
      expect(plain.params.get('ln_f.weight')).toEqual(model.params.get('ln_f.weight'));

      // resume into a fresh int8-base model: the next step is bit-identical
      const again = int8ModelFromWeights(src.config, (n) => namedParams(src).get(n), 32).model;
      const ft2 = new Finetuner(again, { method, schedule, gradClip: 1, seed: 5 });
      loadFinetuneState(state, ft2);
      expect(ft2.trainStep(batch).loss).toBe(ft.trainStep(batch).loss);
      expect(Buffer.from(ft2.lora!.params.buffer, ft2.lora!.params.byteOffset, ft2.lora!.params.byteLength).equals(Buffer.from(ft.lora!.params.buffer, ft.lora!.params.byteOffset, ft.lora!.params.byteLength))).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
