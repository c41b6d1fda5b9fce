// Format detection (loadWeights) and the `tinyllm convert` command end to end.
import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { detectFormat, loadWeights } from '../../src/export/load.js';
import { saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { readLlmcCheckpoint, writeLlmcCheckpoint } from '../../src/export/llmc.js';
import { run } from '../../src/cli/commands/convert.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/export/half.js';
import { expectUserError, randomParams, tempDir } from './fixtures.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { CHECKPOINT_FILE, saveCheckpoint } from '../../src/train/checkpoint.js';

const tmp = tempDir('tinyllm-convert-');
const cfg: GPT2Config = { blockSize: 6, vocabSize: 77, nLayer: 2, nHead: 2, nEmbd: 6 };

async function convert(...argv: string[]): Promise<string> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  try {
    await run(argv);
    return log.mock.calls.map((c) => c.join(' ')).join('\n');
  } finally {
    log.mockRestore();
  }
}

async function rejects(promise: Promise<unknown>, text: string): Promise<void> {
  await expect(promise).rejects.toMatchObject({ name: 'UserError', message: expect.stringContaining(text) });
}

describe('loadWeights', () => {
  it('recognises an HF directory, a .safetensors file and an llm.c checkpoint by content', () => {
    const { flat, params } = randomParams(cfg, 4);
    const hf = tmp('hf');
    saveHFGPT2(hf, cfg, params);
    const bin = tmp('weights.dat'); // the name does not matter, the magic does
    writeLlmcCheckpoint(bin, cfg, params);
    expect(detectFormat(hf)).toBe('hf');
    expect(detectFormat(path.join(hf, 'model.safetensors'))).toBe('safetensors');
    expect(detectFormat(bin)).toBe('llmc');
    for (const p of [hf, path.join(hf, 'model.safetensors'), bin]) {
      const w = loadWeights(p);
      expect(w.config).toEqual(cfg);
      expect(w.flat).toEqual(flat);
    }
  });

  it('reads a tinyllm training checkpoint through its own loader, into a caller buffer too', () => {
    const model = new GPT2(cfg, { alloc: plainF32, seed: 11 });
    const ckpt = tmp('run.ckpt');
    saveCheckpoint(ckpt, { model, step: 3 });
    expect(detectFormat(ckpt)).toBe('tinyllm');
    expect(loadWeights(ckpt).flat).toEqual(model.params.data);
    const mine = new Float32Array(model.params.data.length);
    expect(loadWeights(ckpt, { allocate: () => mine }).flat).toBe(mine);
    expect(mine).toEqual(model.params.data);
  });

  it('reads a tinyllm run directory (its checkpoint.ckpt), even with the run config.json beside it', () => {
    const model = new GPT2(cfg, { alloc: plainF32, seed: 12 });
    const dir = tmp('run-dir');
    fs.mkdirSync(dir, { recursive: true });
    saveCheckpoint(path.join(dir, CHECKPOINT_FILE), { model, step: 5 });
    fs.writeFileSync(path.join(dir, 'config.json'), '{"model": "custom"}');
    expect(detectFormat(dir)).toBe('tinyllm');
    expect(loadWeights(dir).flat).toEqual(model.params.data);
  });

  it('explains what it reads when given something else', () => {
    const junk = tmp('junk.bin');
    fs.writeFileSync(junk, 'hello world, not weights');
    expectUserError(() => loadWeights(junk), junk, 'unrecognised weights file', 'llm.c checkpoint');
    expectUserError(() => loadWeights(tmp('missing')), 'no such file or directory');
  });
});

describe('tinyllm convert', () => {
  it('converts llm.c -> HF (bf16) -> llm.c, printing the config and parameter count', async () => {
    const { flat, params } = randomParams(cfg, 5);
    const bin = tmp('in.bin');
    writeLlmcCheckpoint(bin, cfg, params);
    const hf = tmp('out-hf');
    const out1 = await convert(bin, hf, '--dtype', 'bf16');
    expect(out1).toContain('llm.c checkpoint');
    expect(out1).toContain('n_layer=2 n_head=2 n_embd=6 block_size=6 vocab_size=77');
    expect(out1).toMatch(/1,\d{3} parameters/);
    expect(out1).toContain('Hugging Face directory, bf16');
    const rounded = flat.map((x) => bf16BitsToF32(f32ToBf16Bits(x)));
    expect(loadWeights(hf).flat).toEqual(rounded);
    const back = tmp('back.bin'); // .bin -> llm.c by default
    await convert(hf, back);
    expect(readLlmcCheckpoint(back).flat).toEqual(rounded);
    const forced = tmp('forced');
    await convert(bin, forced, '--to', 'llmc');
    expect(readLlmcCheckpoint(forced).flat).toEqual(flat);
    // an existing export is never replaced without --force, checked before the model is read
    await rejects(run([bin, hf]), 'already holds results (config.json, model.safetensors); --force to start over');
    await rejects(run([hf, back]), 'already exists; --force to replace it');
    await convert(hf, back, '--force');
    expect(readLlmcCheckpoint(back).flat).toEqual(rounded);
  });

  it('rejects bad arguments with messages that say how to fix them', async () => {
    const bin = tmp('in.bin');
    writeLlmcCheckpoint(bin, cfg, randomParams(cfg, 6).params);
    await rejects(run([bin]), 'expected <in> and <out>');
    await rejects(run([bin, tmp('x'), '--to', 'onnx']), "--to must be 'hf', 'llmc' or 'gguf'");
    await rejects(run([bin, tmp('x'), '--dtype', 'f8']), '--dtype must be f32, f16, bf16 or q8_0');
    await rejects(run([bin, tmp('x.bin'), '--dtype', 'f16']), 'use --dtype f32 or bf16');
    const help = await convert('--help');
    expect(help).toContain('Usage: tinyllm convert <in> <out>');
  });
});
