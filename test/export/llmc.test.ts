// llm.c checkpoints against karpathy/llm.c train_gpt2.py write_model:
//   header = torch.zeros(256, dtype=torch.int32); header[0] = 20240326 (magic); header[1] = version
//   (3: all tensors fp32, padded vocab; 5: all tensors bf16, padded vocab); header[2] = block_size;
//   [3] = vocab_size; [4] = n_layer; [5] = n_head; [6] = n_embd; [7] = padded vocab size, where
//   pad_vocab rounds V up to a multiple of 128 with zero rows; then write_tensors: wte (Vp, C), wpe, and
//   each of ln_1.w/b, c_attn.w/b, attn.c_proj.w/b, ln_2.w/b, c_fc.w/b, mlp.c_proj.w/b over all layers,
//   then ln_f.w/b, in nn.Linear (out, in) layout.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { numParams, paramSpecs, type GPT2Config } from '../../src/models/gpt2/config.js';
import { paddedVocab, readLlmcCheckpoint, writeLlmcCheckpoint } from '../../src/export/llmc.js';
import { loadHFGPT2, saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { bf16BitsToF32, f32ToBf16Bits } from '../../src/export/half.js';
import { expectUserError, randomParams, smallConfig, tempDir } from './fixtures.js';

const tmp = tempDir('tinyllm-llmc-');
const cfg: GPT2Config = { blockSize: 4, vocabSize: 130, nLayer: 2, nHead: 1, nEmbd: 2 };

describe('llm.c checkpoint layout', () => {
  it('writes the exact header and layout of write_model (version 3, Vp = 256 for V = 130)', () => {
    const file = tmp('model.bin');
    const { flat, params } = randomParams(cfg, 1);
    writeLlmcCheckpoint(file, cfg, params);
    const bytes = new Uint8Array(fs.readFileSync(file));
    const header = new Int32Array(bytes.buffer, bytes.byteOffset, 256);
    const want = new Int32Array(256);
    want.set([20240326, 3, 4, 130, 2, 1, 2, 256]);
    expect(header).toEqual(want);
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0xc6, 0xd7, 0x34, 0x01, 3, 0, 0, 0]); // 20240326 = 0x0134d7c6, little-endian
    const C = 2;
    const V = 130;
    const Vp = 256;
    expect(bytes.byteLength).toBe(1024 + 4 * (numParams(cfg) + (Vp - V) * C));
    const body = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 1024, bytes.byteOffset + bytes.byteLength));
    expect(body.subarray(0, V * C)).toEqual(params.get('wte.weight')); // wte rows 0..V-1
    expect(body.subarray(V * C, Vp * C).every((x) => x === 0)).toBe(true); // padding rows V..Vp-1 are zeros
    expect(body.subarray(Vp * C)).toEqual(flat.subarray(V * C)); // then wpe, ..., ln_f.bias in paramSpecs order
    expect(paramSpecs(cfg)[2].name).toBe('h.0.ln_1.weight'); // the order write_tensors uses
  });

  it('pads vocabularies to multiples of 128 like llm.c (50257 -> 50304)', () => {
    expect(paddedVocab(50257)).toBe(50304);
    expect(paddedVocab(128)).toBe(128);
    expect(paddedVocab(1)).toBe(128);
  });

  it('round-trips random small models exactly (version 3) and rounded to bf16 (version 5)', () => {
    fc.assert(
      fc.property(smallConfig, fc.integer(), (config, seed) => {
        const { flat, params } = randomParams(config, seed);
        const f = tmp('rt.bin');
        writeLlmcCheckpoint(f, config, params);
        const back = readLlmcCheckpoint(f);
        expect(back.config).toEqual(config);
        expect(back.dtype).toBe('f32');
        expect(back.paddedVocabSize).toBe(paddedVocab(config.vocabSize));
        expect(back.flat).toEqual(flat);
        const g = tmp('rt16.bin');
        writeLlmcCheckpoint(g, config, params, { dtype: 'bf16' });
        expect(fs.readFileSync(g).readInt32LE(4)).toBe(5);
        const b = readLlmcCheckpoint(g);
        expect(b.dtype).toBe('bf16');
        expect(b.flat).toEqual(flat.map((x) => bf16BitsToF32(f32ToBf16Bits(x))));
      }),
      { numRuns: 25 },
    );
  });

  it('converts HF -> llm.c -> HF without changing a bit', () => {
    fc.assert(
      fc.property(smallConfig, fc.integer(), (config, seed) => {
        const { flat, params } = randomParams(config, seed);
        const hf = tmp('hf');
        saveHFGPT2(hf, config, params);
        const bin = tmp('mid.bin');
        const a = loadHFGPT2(hf);
        writeLlmcCheckpoint(bin, a.config, a.params);
        const b = readLlmcCheckpoint(bin);
        const hf2 = tmp('hf2');
        saveHFGPT2(hf2, b.config, b.params);
        expect(loadHFGPT2(hf2).flat).toEqual(flat);
        expect(fs.readFileSync(`${hf2}/model.safetensors`)).toEqual(fs.readFileSync(`${hf}/model.safetensors`));
      }),
      { numRuns: 10 },
    );
  });
});

describe('llm.c checkpoint errors name the file and the field', () => {
  const good = (): { file: string; bytes: Uint8Array } => {
    const file = tmp('good.bin');
    writeLlmcCheckpoint(file, cfg, randomParams(cfg, 2).params);
    return { file, bytes: new Uint8Array(fs.readFileSync(file)) };
  };
  const patched = (at: number, value: number): string => {
    const { bytes } = good();
    new DataView(bytes.buffer, bytes.byteOffset).setInt32(at * 4, value, true);
    const f = tmp('bad.bin');
    fs.writeFileSync(f, bytes);
    return f;
  };

  it('rejects a bad magic', () => {
    const f = patched(0, 20240520); // the magic of llm.c token shards, a likely mix-up
    expectUserError(() => readLlmcCheckpoint(f), f, 'bad magic 20240520 in header[0]', '20240326');
  });

  it('rejects unsupported versions, saying which are supported', () => {
    const f = patched(1, 2);
    expectUserError(() => readLlmcCheckpoint(f), f, 'version 2 in header[1]', '3 = float32, 5 = bfloat16');
  });

  it('rejects truncated files and extra bytes, and a header that does not fit the size', () => {
    const { bytes } = good();
    const short = tmp('short.bin');
    fs.writeFileSync(short, bytes.subarray(0, bytes.length - 4));
    expectUserError(() => readLlmcCheckpoint(short), short, 'truncated');
    const tiny = tmp('tiny.bin');
    fs.writeFileSync(tiny, bytes.subarray(0, 100));
    expectUserError(() => readLlmcCheckpoint(tiny), 'shorter than the 1024-byte llm.c header');
    const long = tmp('long.bin');
    fs.writeFileSync(long, Buffer.concat([bytes, Buffer.alloc(4)]));
    expectUserError(() => readLlmcCheckpoint(long), 'followed by extra bytes');
    expectUserError(() => readLlmcCheckpoint(patched(6, 4)), 'C=4'); // shape mismatch: n_embd in header vs data size
    expectUserError(() => readLlmcCheckpoint(patched(7, 100)), 'header[7] (padded vocab Vp) is 100, smaller than V=130');
    expectUserError(() => readLlmcCheckpoint(patched(4, 0)), 'header[4] (L) is 0');
    expectUserError(() => readLlmcCheckpoint(patched(7, 0)), 'from before padded vocabularies');
  });
});
