// GGUF: header bytes against the spec (ggml/docs/gguf.md) assembled by hand, Q8_0 blocks byte for byte against
// ggml's quantize_row_q8_0_ref worked by hand, the GPT-2 metadata and tensor names llama.cpp loads, round trips
// (F32 exact, F16 and Q8_0 within their stated error), the embedded tokenizer, and convert/generate end to end.
// llama.cpp itself checks the files in scripts/llamacpp-check.ts (npm run check:llamacpp).
import fc from 'fast-check';
import * as fs from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { GgufReader, dequantizeQ8_0, quantizeQ8_0, writeGguf, type GgufValue } from '../../src/export/gguf.js';
import { ggufTensorName, loadGgufGPT2, saveGgufGPT2 } from '../../src/export/gguf-gpt2.js';
import { loadWeights } from '../../src/export/load.js';
import { writeLlmcCheckpoint } from '../../src/export/llmc.js';
import { bf16BitsToF32, f32ToBf16Bits, f32ToF16Bits } from '../../src/export/half.js';
import { run as convert } from '../../src/cli/commands/convert.js';
import { run as exportCmd } from '../../src/cli/commands/export.js';
import { openModel } from '../../src/cli/commands/generate.js';
import { gpt2 } from '../../src/tokenizer/gpt2.js';
import { expectUserError, randomParams, tempDir, tinyTokenizer } from './fixtures.js';

const tmp = tempDir('tinyllm-gguf-');
const cfg: GPT2Config = { blockSize: 8, vocabSize: 262, nLayer: 2, nHead: 2, nEmbd: 32 };

describe('GGUF container', () => {
  it('writes the header exactly as the spec lays it out', () => {
    const file = tmp('spec.gguf');
    const md = new Map<string, GgufValue>([
      ['general.architecture', { type: 'string', value: 'gpt2' }],
      ['x.list', { type: 'array', itemType: 'i32', value: [1, -2] }],
    ]);
    writeGguf(file, md, [{ name: 'a', dims: [3], type: 'F32', data: new Float32Array([1, 2, 3]) }]);
    const u32 = (v: number) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
    const u64 = (v: number) => [...u32(v), 0, 0, 0, 0];
    const str = (s: string) => [...u64(s.length), ...Buffer.from(s)];
    const header = [
      0x47, 0x47, 0x55, 0x46, ...u32(3), ...u64(1), ...u64(2), // "GGUF", version 3, 1 tensor, 2 key/values
      ...str('general.architecture'), ...u32(8), ...str('gpt2'), // type 8 = string
      ...str('x.list'), ...u32(9), ...u32(5), ...u64(2), ...u32(1), ...u32(-2 >>> 0), // array (9) of int32 (5)
      ...str('a'), ...u32(1), ...u64(3), ...u32(0), ...u64(0), // 1 dim [3], F32 (0), offset 0
    ];
    const padded = [...header, ...new Array((32 - (header.length % 32)) % 32).fill(0)];
    const data = [...Buffer.from(new Float32Array([1, 2, 3]).buffer), ...new Array(20).fill(0)];
    expect([...fs.readFileSync(file)]).toEqual([...padded, ...data]);
  });

  it('quantizes Q8_0 blocks byte for byte as ggml (f16 scale amax/127, then 32 × int8 roundf(x·127/amax))', () => {
    // block 0: amax 127 -> d = 1 (f16 0x3c00); roundf takes halves away from zero
    const b0 = [127, -127, 0.5, -0.5, 1.5, -1.5, 2.4999, -2.5001, 3, 100.49, ...new Array(22).fill(0)];
    const q0 = [127, -127, 1, -1, 2, -2, 2, -3, 3, 100, ...new Array(22).fill(0)];
    // block 1: all zero -> d = 0 and q = 0
    // block 2: amax 0.5 -> d = 0.5/127 = 0.0039370… = 2^-8 · (1 + 8.06/1024) -> f16 exponent 7, mantissa 8 = 0x1c08;
    //          x·(1/d) = x·254: 0.1 -> 25.4 -> 25, -0.3 -> -76.2 -> -76, 0.5 -> 127
    const b2 = [0.5, 0.1, -0.3, ...new Array(29).fill(0)];
    const q2 = [127, 25, -76, ...new Array(29).fill(0)];
    const bytes = quantizeQ8_0(new Float32Array([...b0, ...new Array(32).fill(0), ...b2]));
    const i8 = (q: number[]) => q.map((v) => v & 0xff);
    expect([...bytes]).toEqual([0x00, 0x3c, ...i8(q0), 0x00, 0x00, ...new Array(32).fill(0), 0x08, 0x1c, ...i8(q2)]);
    expect(f32ToF16Bits(0.5 / 127)).toBe(0x1c08);
    const back = new Float32Array(96);
    dequantizeQ8_0(bytes, back);
    expect([...back.subarray(0, 4)]).toEqual([127, -127, 1, -1]);
  });

  it('Q8_0 error stays within half a step plus the f16 rounding of the scale, per block', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -1e4, max: 1e4, noNaN: true, noDefaultInfinity: true }), { minLength: 32, maxLength: 32 }), fc.integer({ min: 1, max: 3 }), (block, reps) => {
        const x = new Float32Array(Array.from({ length: reps }, () => block).flat());
        const y = new Float32Array(x.length);
        dequantizeQ8_0(quantizeQ8_0(x), y);
        const amax = Math.max(...block.map(Math.abs));
        // |x - d16·q| <= |x - d·q| + |d - d16|·|q| <= d/2 + 127·|d - d16|, d = amax/127 (+ float32 slack), where
        // f16 rounding moves d by at most d·2^-11, or by half the smallest subnormal step (2^-25) once d underflows
        const d = amax / 127;
        const bound = (d / 2 + 127 * Math.max(d * 2 ** -11, 2 ** -25)) * (1 + 1e-5);
        for (let i = 0; i < x.length; i++) expect(Math.abs(x[i] - y[i])).toBeLessThanOrEqual(bound);
      }),
      // the scale of a block of (almost) zeros underflows f16 to 0 (once a flaky counterexample)
      { numRuns: 300, examples: [[[...Array<number>(31).fill(0), -1e-30], 1]] },
    );
  });
});

describe('GPT-2 in GGUF', () => {
  const { flat, params } = randomParams(cfg, 7);
  const tok = tinyTokenizer();

  it('writes the metadata keys and tensor names/dims/types llama.cpp loads for gpt2', () => {
    const file = tmp('meta.gguf');
    saveGgufGPT2(file, cfg, params, tok.model, { dtype: 'q8_0' });
    const r = new GgufReader(file);
    try {
      const v = (k: string) => r.metadata.get(k)?.value;
      expect(v('general.architecture')).toBe('gpt2');
      expect([v('gpt2.context_length'), v('gpt2.embedding_length'), v('gpt2.feed_forward_length'), v('gpt2.block_count'), v('gpt2.attention.head_count')]).toEqual([8, 32, 128, 2, 2]);
      expect(v('gpt2.attention.layer_norm_epsilon')).toBeCloseTo(1e-5, 12);
      expect([v('general.file_type'), v('general.quantization_version'), v('general.alignment')]).toEqual([7, 2, 32]);
      expect([v('tokenizer.ggml.model'), v('tokenizer.ggml.pre'), v('tokenizer.ggml.bos_token_id'), v('tokenizer.ggml.eos_token_id')]).toEqual(['gpt2', 'gpt-2', tok.eotToken, tok.eotToken]);
      const tokens = v('tokenizer.ggml.tokens') as string[];
      const types = v('tokenizer.ggml.token_type') as number[];
      expect(tokens.length).toBe(cfg.vocabSize);
      expect(tokens[tok.eotToken]).toBe('<|endoftext|>');
      expect(types[tok.eotToken]).toBe(3); // control
      expect(tokens[cfg.vocabSize - 1]).toBe(`<|pad_${cfg.vocabSize - 1}|>`); // a row beyond the tokenizer
      expect(types[cfg.vocabSize - 1]).toBe(5); // unused
      expect(v('tokenizer.ggml.merges')).toEqual(['h e', 'he l']);
      const t = (name: string) => {
        const i = r.info(name);
        return `${i.dims.join('x')} ${r.typeOf(name)}`;
      };
      expect(t('token_embd.weight')).toBe('32x262 Q8_0');
      expect(t('position_embd.weight')).toBe('32x8 F32');
      expect(t('blk.1.attn_norm.weight')).toBe('32 F32');
      expect(t('blk.1.attn_qkv.weight')).toBe('32x96 Q8_0');
      expect(t('blk.1.attn_qkv.bias')).toBe('96 F32');
      expect(t('blk.0.attn_output.weight')).toBe('32x32 Q8_0');
      expect(t('blk.0.ffn_norm.bias')).toBe('32 F32');
      expect(t('blk.0.ffn_up.weight')).toBe('32x128 Q8_0');
      expect(t('blk.0.ffn_down.weight')).toBe('128x32 Q8_0');
      expect(t('output_norm.weight')).toBe('32 F32');
      expect(r.tensors.has('output.weight')).toBe(false); // tied: llama.cpp reuses token_embd
      expect(r.tensors.size).toBe(4 + 12 * cfg.nLayer);
      for (const ti of r.tensors.values()) expect(ti.offset % 32).toBe(0);
      expect(r.dataOffset % 32).toBe(0);
    } finally {
      r.close();
    }
  });

  it('round-trips F32 exactly and F16 / Q8_0 within their error, through loadWeights', () => {
    for (const dtype of ['f32', 'f16', 'q8_0'] as const) {
      const file = tmp(`rt-${dtype}.gguf`);
      saveGgufGPT2(file, cfg, params, tok.model, { dtype });
      const w = loadWeights(file);
      expect(w.format).toBe('gguf');
      expect(w.config).toEqual(cfg);
      const g = loadGgufGPT2(file);
      for (const [name, orig] of params) {
        const got = w.params.get(name) as Float32Array;
        const type = g.types.get(ggufTensorName(name));
        let amax = 0;
        for (const x of orig) amax = Math.max(amax, Math.abs(x));
        const bound = (x: number) => (type === 'F32' ? 0 : type === 'F16' ? Math.abs(x) * 2 ** -11 + 2 ** -25 : (amax / 127) * (0.5 + 127 * 2 ** -11) * (1 + 1e-5));
        const worst = orig.findIndex((x, i) => !(Math.abs(got[i] - x) <= bound(x)));
        expect(worst, `${dtype} ${name} (${type}) index ${worst}: ${orig[worst]} -> ${got[worst]}`).toBe(-1);
      }
      expect(flat.length).toBe(w.flat.length);
    }
  });

  it('reads BF16 tensors as convert_hf_to_gguf --outtype bf16 writes them', () => {
    const src = tmp('f32.gguf');
    saveGgufGPT2(src, cfg, params, tok.model);
    const r = new GgufReader(src);
    const tensors = [...r.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: t.dims.length === 2 ? ('BF16' as const) : r.typeOf(t.name), data: r.readFloat32(t.name) }));
    const md = new Map(r.metadata);
    r.close();
    const file = tmp('bf16.gguf');
    writeGguf(file, md, tensors);
    const g = loadGgufGPT2(file);
    expect(g.types.get('blk.0.ffn_up.weight')).toBe('BF16');
    const orig = params.get('h.0.mlp.c_fc.weight') as Float32Array;
    const got = g.params.get('h.0.mlp.c_fc.weight') as Float32Array;
    expect([...got]).toEqual([...orig].map((x) => bf16BitsToF32(f32ToBf16Bits(x))));
    expect(got.some((x, i) => x !== orig[i])).toBe(true);
  });

  it('falls back to F16 for Q8_0 matrices whose rows are not a multiple of 32, as convert_hf_to_gguf does', () => {
    const c: GPT2Config = { ...cfg, nEmbd: 12, nHead: 3 };
    const file = tmp('fallback.gguf');
    saveGgufGPT2(file, c, randomParams(c, 3).params, tok.model, { dtype: 'q8_0' });
    const g = loadGgufGPT2(file);
    expect(g.types.get('token_embd.weight')).toBe('F16'); // 12 per row
    expect(g.types.get('blk.0.ffn_down.weight')).toBe('F16'); // 48 per row
  });

  it('stores the tokenizer: the file encodes and decodes like the original (GPT-2 and a small one)', () => {
    const file = tmp('tok.gguf');
    saveGgufGPT2(file, cfg, params, tok.model);
    const back = loadGgufGPT2(file).tokenizer;
    const text = 'hello hel he<|endoftext|>é';
    expect(back?.encode(text, { allowSpecial: true })).toEqual(tok.encode(text, { allowSpecial: true }));
    expect(back?.vocabSize).toBe(cfg.vocabSize); // padded rows come back as unused special tokens

    const big: GPT2Config = { blockSize: 4, vocabSize: 50257, nLayer: 1, nHead: 1, nEmbd: 4 };
    const file2 = tmp('gpt2tok.gguf');
    saveGgufGPT2(file2, big, randomParams(big, 1).params, gpt2().model, { dtype: 'f16' });
    const t2 = loadGgufGPT2(file2).tokenizer;
    const sample = "GGUF's tokenizer: 12.5°C, naïve café 🤖\n\tend<|endoftext|>";
    expect(t2?.encode(sample, { allowSpecial: true })).toEqual(gpt2().encode(sample, { allowSpecial: true }));
  });

  it('rejects what llama.cpp would not load: non-gpt2 architectures, missing tensors, untied heads', () => {
    const base = tmp('base.gguf');
    saveGgufGPT2(base, cfg, params, tok.model);
    const r = new GgufReader(base);
    const md = new Map(r.metadata);
    const tensors = [...r.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: r.typeOf(t.name), data: r.readFloat32(t.name) }));
    r.close();
    const llama = tmp('llama.gguf');
    writeGguf(llama, new Map([...md, ['general.architecture', { type: 'string', value: 'llama' }]]), tensors);
    expectUserError(() => loadWeights(llama), 'general.architecture is "llama"', 'GPT-2');
    const missing = tmp('missing.gguf');
    const embd = tensors[0];
    const tiedHead = { ...embd, name: 'output.weight' }; // keeps the tensor count, so the name check is reached
    writeGguf(missing, md, [...tensors.filter((t) => t.name !== 'blk.1.ffn_up.weight'), tiedHead]);
    expectUserError(() => loadWeights(missing), "tensor 'blk.1.ffn_up.weight' is missing");
    writeGguf(missing, md, tensors.slice(1));
    expectUserError(() => loadWeights(missing), "tensor 'token_embd.weight' is missing");
    const untied = tmp('untied.gguf');
    writeGguf(untied, md, [...tensors, { ...embd, name: 'output.weight', data: embd.data.map((x) => x + 1) }]);
    expectUserError(() => loadWeights(untied), "'output.weight' differs");
  });
});

describe('convert and generate with GGUF', () => {
  it('converts llm.c -> GGUF (q8_0) -> llm.c, and generate opens the GGUF with its own tokenizer', async () => {
    const { params } = randomParams(cfg, 9);
    const bin = tmp('in.bin');
    writeLlmcCheckpoint(bin, cfg, params);
    const tokDir = tmp('tok');
    const { saveTokenizer } = await import('../../src/tokenizer/files.js');
    saveTokenizer(tinyTokenizer().model, tokDir);
    const gguf = tmp('out.gguf');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await convert([bin, gguf, '--dtype', 'q8_0', '--tokenizer', tokDir]);
      await convert([gguf, tmp('back.bin')]);
      await expect(convert([bin, gguf, '--dtype', 'f16'])).rejects.toMatchObject({ name: 'UserError', message: expect.stringContaining('--force') });
      await convert([bin, gguf, '--dtype', 'q8_0', '--tokenizer', tokDir, '--force']);
      await expect(convert([bin, tmp('x.gguf'), '--dtype', 'bf16'])).rejects.toMatchObject({ name: 'UserError' });
    } finally {
      log.mockRestore();
    }
    expect(loadWeights(gguf).format).toBe('gguf');
    const { model, tokenizer } = await openModel(gguf);
    expect(model.config).toEqual(cfg);
    expect(typeof tokenizer === 'object' && tokenizer?.encode('hello')).toEqual(tinyTokenizer().encode('hello'));
  });

  it('export --gguf writes a checked GGUF and reports what Q8_0 cost; --gguf with --int8 is refused', async () => {
    const bin = tmp('src.bin');
    writeLlmcCheckpoint(bin, cfg, randomParams(cfg, 10).params);
    const tokDir = tmp('tok2');
    const { saveTokenizer } = await import('../../src/tokenizer/files.js');
    saveTokenizer(tinyTokenizer().model, tokDir);
    const out = tmp('e.gguf');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    let printed = '';
    try {
      await exportCmd([bin, '--gguf', '--dtype', 'q8_0', '--tokenizer', tokDir, '--prompt', 'hello', '-o', out]);
      printed = log.mock.calls.map((c) => c.join(' ')).join('\n');
      await expect(exportCmd([bin, '--gguf', '--int8', '-o', tmp('x.gguf')])).rejects.toMatchObject({ name: 'UserError', message: expect.stringContaining('--dtype') });
    } finally {
      log.mockRestore();
    }
    expect(printed).toMatch(/GGUF q8_0; [\d.]+ MB/);
    expect(printed).toMatch(/max \|Δlogit\| [\d.e-]+ .*top-1 token agrees/);
    const g = loadGgufGPT2(out);
    expect(g.types.get('blk.0.ffn_up.weight')).toBe('Q8_0');
    expect(g.tokenizer?.encode('hello')).toEqual(tinyTokenizer().encode('hello'));
  });
});
