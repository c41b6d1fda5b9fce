// Hugging Face GPT-2 checkpoints: round trips, the on-disk layout transformers expects (Conv1D weights
// stored (in, out), 'transformer.' keys, tied lm_head omitted, metadata format=pt), loading the variants
// found on the Hub (no prefix, attn.bias / attn.masked_bias buffers, lm_head present, shards), and errors.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { paramSpecs, type GPT2Config } from '../../src/models/gpt2/config.js';
import { loadHFGPT2, saveHFGPT2, transpose } from '../../src/export/hf-gpt2.js';
import { readSafetensors, writeSafetensors, type TensorToWrite } from '../../src/export/safetensors.js';
import { bf16BitsToF32, f16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/export/half.js';
import { expectUserError, randomParams, smallConfig, tempDir } from './fixtures.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { fileURLToPath } from 'node:url';

const tmp = tempDir('tinyllm-hf-');
const cfg: GPT2Config = { blockSize: 8, vocabSize: 130, nLayer: 2, nHead: 2, nEmbd: 4 };
const CONV = /\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/;

/** Tensors as a Hub GPT2LMHeadModel file would hold them: Conv1D weights (in, out), optional extras. */
function hubTensors(config: GPT2Config, seed: number, prefix: string): TensorToWrite[] {
  const { params } = randomParams(config, seed);
  return paramSpecs(config).map((s) => {
    const data = params.get(s.name)!;
    const conv = CONV.test(s.name);
    return { name: prefix + s.name, shape: conv ? [s.shape[1], s.shape[0]] : s.shape, data: conv ? transpose(data, s.shape[0], s.shape[1]) : data };
  });
}

function writeHubDir(dir: string, tensors: TensorToWrite[], config: Record<string, unknown>): void {
  fs.mkdirSync(dir, { recursive: true });
  writeSafetensors(path.join(dir, 'model.safetensors'), tensors, { format: 'pt' });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
}

const hubConfig = (c: GPT2Config): Record<string, unknown> => ({
  model_type: 'gpt2',
  n_layer: c.nLayer,
  n_head: c.nHead,
  n_embd: c.nEmbd,
  n_positions: c.blockSize,
  n_ctx: c.blockSize,
  vocab_size: c.vocabSize,
  layer_norm_epsilon: 1e-5,
  activation_function: 'gelu_new',
});

describe('Hugging Face GPT-2 save/load', () => {
  it('round-trips random small models exactly in f32, into paramSpecs order', () => {
    fc.assert(
      fc.property(smallConfig, fc.integer(), (config, seed) => {
        const dir = tmp('rt');
        const { flat, params } = randomParams(config, seed);
        saveHFGPT2(dir, config, params);
        const back = loadHFGPT2(dir);
        expect(back.config).toEqual(config);
        expect(back.flat).toEqual(flat);
        for (const [name, view] of back.params) expect(view).toEqual(params.get(name));
      }),
      { numRuns: 25 },
    );
  });

  it('loads into a caller-supplied buffer', () => {
    const dir = tmp('alloc');
    const { flat, params } = randomParams(cfg, 3);
    saveHFGPT2(dir, cfg, params);
    const mine = new Float32Array(flat.length);
    const back = loadHFGPT2(dir, { allocate: () => mine });
    expect(back.flat).toBe(mine);
    expect(mine).toEqual(flat);
  });

  it('writes what transformers loads: prefixed keys, (in, out) Conv1D weights, no lm_head, format=pt, config.json', () => {
    const dir = tmp('layout');
    const { params } = randomParams(cfg, 1);
    saveHFGPT2(dir, cfg, params);
    const { tensors, metadata } = readSafetensors(path.join(dir, 'model.safetensors'));
    expect(metadata).toEqual({ format: 'pt' });
    expect([...tensors.keys()].sort()).toEqual(paramSpecs(cfg).map((s) => `transformer.${s.name}`).sort());
    const C = cfg.nEmbd;
    const ours = params.get('h.1.attn.c_attn.weight')!; // (3C, C)
    const file = tensors.get('transformer.h.1.attn.c_attn.weight')!; // (C, 3C)
    expect(file.shape).toEqual([C, 3 * C]);
    for (let o = 0; o < 3 * C; o++) for (let i = 0; i < C; i++) expect(file.data[i * 3 * C + o]).toBe(ours[o * C + i]);
    expect(tensors.get('transformer.h.0.mlp.c_proj.weight')!.shape).toEqual([4 * C, C]);
    expect(tensors.get('transformer.wte.weight')!.data).toEqual(params.get('wte.weight'));
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    expect(json).toMatchObject({
      model_type: 'gpt2',
      architectures: ['GPT2LMHeadModel'],
      n_layer: 2,
      n_head: 2,
      n_embd: 4,
      n_positions: 8,
      n_ctx: 8,
      vocab_size: 130,
      layer_norm_epsilon: 1e-5,
      activation_function: 'gelu_new',
      tie_word_embeddings: true,
      torch_dtype: 'float32',
    });
  });

  it('saves f16 and bf16 (rounded to nearest even) and records torch_dtype', () => {
    for (const [dtype, round, torch] of [
      ['f16', (x: number) => f16BitsToF32(f32ToF16Bits(x)), 'float16'],
      ['bf16', (x: number) => bf16BitsToF32(f32ToBf16Bits(x)), 'bfloat16'],
    ] as const) {
      const dir = tmp(dtype);
      const { flat, params } = randomParams(cfg, 2);
      saveHFGPT2(dir, cfg, params, { dtype });
      expect(JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')).torch_dtype).toBe(torch);
      expect(loadHFGPT2(dir).flat).toEqual(flat.map(round));
    }
  });

  it('loads Hub-style files: no prefix, causal-mask buffers, a tied lm_head, a lone .safetensors path', () => {
    const dir = tmp('hub');
    const tensors = hubTensors(cfg, 5, '');
    const wte = tensors.find((t) => t.name === 'wte.weight')!;
    const mask = (l: number, name: string): TensorToWrite => ({ name: `h.${l}.attn.${name}`, shape: [1, 1, 8, 8], data: new Float32Array(64).fill(1) });
    writeHubDir(dir, [...tensors, mask(0, 'bias'), mask(1, 'bias'), mask(0, 'masked_bias'), { ...wte, name: 'lm_head.weight' }], hubConfig(cfg));
    const { flat } = randomParams(cfg, 5);
    expect(loadHFGPT2(dir).flat).toEqual(flat);
    expect(loadHFGPT2(path.join(dir, 'model.safetensors')).flat).toEqual(flat);
  });

  it('loads sharded checkpoints (model.safetensors.index.json)', () => {
    const dir = tmp('shards');
    fs.mkdirSync(dir);
    const tensors = hubTensors(cfg, 6, 'transformer.');
    const half = Math.floor(tensors.length / 2);
    const shards = [tensors.slice(0, half), tensors.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((ts, i) => {
      const f = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(path.join(dir, f), ts, { format: 'pt' });
      for (const t of ts) weightMap[t.name] = f;
    });
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hubConfig(cfg)));
    expect(loadHFGPT2(dir).flat).toEqual(randomParams(cfg, 6).flat);
  });
});

describe('a checkpoint written by transformers itself', () => {
  // test/fixtures/export/tiny-gpt2 was made by make_tiny_gpt2.py with transformers 5.17 / torch 2.13:
  // GPT2LMHeadModel.save_pretrained output, plus the state dict in nn.Linear layout and PyTorch's logits.
  const dir = fileURLToPath(new URL('../fixtures/export/tiny-gpt2', import.meta.url));
  const expected = JSON.parse(fs.readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
    tokens: number[];
    logits: number[];
    params: Record<string, number[]>;
  };

  it('loads every parameter exactly, Conv1D weights transposed to (out, in)', () => {
    const w = loadHFGPT2(dir);
    expect(w.config).toEqual({ blockSize: 16, vocabSize: 40, nLayer: 2, nHead: 2, nEmbd: 8 });
    expect([...w.params.keys()].sort()).toEqual(Object.keys(expected.params).sort());
    for (const [name, values] of Object.entries(expected.params)) expect(Array.from(w.params.get(name)!)).toEqual(values);
  });

  it('gives the logits PyTorch gives, when run by the tinyllm GPT-2 model', () => {
    const w = loadHFGPT2(dir);
    const model = new GPT2(w.config, { alloc: plainF32, seed: null });
    model.params.data.set(w.flat);
    const T = expected.tokens.length;
    model.forward(Int32Array.from(expected.tokens), null, 1, T);
    const logits = model.logits().subarray(0, T * w.config.vocabSize);
    let maxErr = 0;
    for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs(logits[i] - expected.logits[i]));
    expect(maxErr).toBeLessThan(1e-4);
  });
});

describe('Hugging Face GPT-2 errors name the file and the field', () => {
  it('rejects an untied lm_head', () => {
    const dir = tmp('untied');
    const tensors = hubTensors(cfg, 7, 'transformer.');
    writeHubDir(dir, [...tensors, { name: 'lm_head.weight', shape: [cfg.vocabSize, cfg.nEmbd], data: new Float32Array(cfg.vocabSize * cfg.nEmbd) }], hubConfig(cfg));
    expectUserError(() => loadHFGPT2(dir), 'model.safetensors', "'lm_head.weight' differs from 'wte.weight'");
  });

  it('rejects a missing tensor, an unexpected tensor and a shape mismatch', () => {
    const tensors = hubTensors(cfg, 8, 'transformer.');
    const missing = tmp('missing');
    writeHubDir(missing, tensors.filter((t) => t.name !== 'transformer.h.1.ln_2.bias'), hubConfig(cfg));
    expectUserError(() => loadHFGPT2(missing), 'model.safetensors', "tensor 'h.1.ln_2.bias' is missing");
    const extra = tmp('extra');
    writeHubDir(extra, tensors, hubConfig({ ...cfg, nLayer: 1 }));
    expectUserError(() => loadHFGPT2(extra), 'unexpected tensor "h.1.', 'n_layer=1');
    const shape = tmp('shape');
    // an nn.Linear-layout (out, in) c_fc weight where Conv1D (in, out) is expected
    const bad = tensors.map((t) => (t.name === 'transformer.h.0.mlp.c_fc.weight' ? { ...t, shape: [4 * cfg.nEmbd, cfg.nEmbd] } : t));
    writeHubDir(shape, bad, hubConfig(cfg));
    expectUserError(() => loadHFGPT2(shape), 'model.safetensors', "tensor 'transformer.h.0.mlp.c_fc.weight' has shape [16,4], expected [4,16]", 'Conv1D');
  });

  it('rejects unsupported or malformed config.json fields', () => {
    const tensors = hubTensors(cfg, 9, '');
    const cases: [Record<string, unknown>, string][] = [
      [{ model_type: 'llama' }, '"model_type"'],
      [{ activation_function: 'relu' }, '"activation_function"'],
      [{ layer_norm_epsilon: 1e-6 }, '"layer_norm_epsilon"'],
      [{ n_head: 0 }, '"n_head" must be a positive integer'],
      [{ n_head: 3 }, '"n_embd" (4) must be divisible by n_head (3)'],
      [{ n_inner: 7 }, '"n_inner"'],
    ];
    for (const [patch, msg] of cases) {
      const dir = tmp('cfg');
      writeHubDir(dir, tensors, { ...hubConfig(cfg), ...patch });
      expectUserError(() => loadHFGPT2(dir), 'config.json', msg);
    }
  });

  it('explains a missing config.json and a pickle-only directory', () => {
    const lone = tmp('lone');
    fs.mkdirSync(lone);
    writeSafetensors(path.join(lone, 'w.safetensors'), hubTensors(cfg, 10, ''));
    expectUserError(() => loadHFGPT2(path.join(lone, 'w.safetensors')), 'config.json', 'n_head cannot be read');
    const pickle = tmp('pickle');
    fs.mkdirSync(pickle);
    fs.writeFileSync(path.join(pickle, 'config.json'), JSON.stringify(hubConfig(cfg)));
    fs.writeFileSync(path.join(pickle, 'pytorch_model.bin'), 'x');
    expectUserError(() => loadHFGPT2(pickle), 'pytorch_model.bin', 'safe_serialization=True');
    expectUserError(() => loadHFGPT2(tmp('nowhere')), 'no such file or directory');
  });
});
