// llm.c GPT-2 checkpoints (karpathy/llm.c, train_gpt2.py write_model / train_gpt2.c
// gpt2_build_from_checkpoint): int32[256] header [magic 20240326, version, maxT, V, L, NH, C, Vp, 0...],
// then every parameter in paramSpecs order, wte padded from V to Vp rows (Vp a multiple of 128; padding
// rows are zeros, dropped on load). Version 3 stores float32, version 5 bfloat16.
import * as fs from 'node:fs';
import { numParams, paramSpecs, validateConfig, type GPT2Config } from '../models/gpt2/config.js';
import { UserError } from '../util/errors.js';
import { DTYPE_SIZE, openForRead, readExact, readFloats, writeFloats } from './binary.js';
import { writeAtomically } from '../util/fs.js';
import { allocateWeights, checkParams, type LoadedWeights, type LoadOptions, type NamedParams } from './params.js';

export const LLMC_MAGIC = 20240326;
export const LLMC_HEADER_INTS = 256;
export const LLMC_HEADER_BYTES = LLMC_HEADER_INTS * 4;
/** Checkpoint version -> stored dtype. */
const VERSIONS = { 3: 'f32', 5: 'bf16' } as const;
type LlmcDtype = (typeof VERSIONS)[keyof typeof VERSIONS];

/** llm.c pads the vocabulary to a multiple of 128 for GPU-friendly matmuls (50257 -> 50304). */
export function paddedVocab(vocabSize: number, multiple = 128): number {
  return Math.ceil(vocabSize / multiple) * multiple;
}

/** The 1024-byte header for a config. */
export function encodeLlmcHeader(config: GPT2Config, dtype: LlmcDtype = 'f32'): Uint8Array {
  const h = new Int32Array(LLMC_HEADER_INTS);
  h[0] = LLMC_MAGIC;
  h[1] = dtype === 'f32' ? 3 : 5;
  h[2] = config.blockSize;
  h[3] = config.vocabSize;
  h[4] = config.nLayer;
  h[5] = config.nHead;
  h[6] = config.nEmbd;
  h[7] = paddedVocab(config.vocabSize);
  return new Uint8Array(h.buffer);
}

export interface LlmcWeights extends LoadedWeights {
  dtype: LlmcDtype;
  /** Padded vocabulary size stored in the file. */
  paddedVocabSize: number;
}

/** Loads an llm.c checkpoint, validating the header and the file size. */
export function readLlmcCheckpoint(file: string, opts: LoadOptions = {}): LlmcWeights {
  const fd = openForRead(file);
  try {
    const size = fs.fstatSync(fd).size;
    if (size < LLMC_HEADER_BYTES) throw new UserError(`${file}: file is ${size} bytes, shorter than the ${LLMC_HEADER_BYTES}-byte llm.c header; the file is truncated or not an llm.c checkpoint`);
    const hb = new Uint8Array(LLMC_HEADER_BYTES);
    readExact(fd, hb, 0, file, 'the llm.c header');
    const h = new Int32Array(hb.buffer);
    if (h[0] !== LLMC_MAGIC) throw new UserError(`${file}: bad magic ${h[0]} in header[0] (an llm.c GPT-2 checkpoint starts with ${LLMC_MAGIC}); is this the right file?`);
    const dtype = VERSIONS[h[1] as keyof typeof VERSIONS];
    if (!dtype) {
      throw new UserError(
        `${file}: unsupported llm.c checkpoint version ${h[1]} in header[1] (supported: 3 = float32, 5 = bfloat16, both with padded vocab); ` +
          're-export it with a current llm.c train_gpt2.py',
      );
    }
    const config: GPT2Config = { blockSize: h[2], vocabSize: h[3], nLayer: h[4], nHead: h[5], nEmbd: h[6] };
    const fields = ['maxT', 'V', 'L', 'NH', 'C'];
    [h[2], h[3], h[4], h[5], h[6]].forEach((v, i) => {
      if (v <= 0) throw new UserError(`${file}: header[${i + 2}] (${fields[i]}) is ${v}, must be positive; the header is corrupt`);
    });
    if (config.nEmbd % config.nHead !== 0) throw new UserError(`${file}: header C=${config.nEmbd} is not divisible by NH=${config.nHead}; the header is corrupt`);
    const Vp = h[7];
    if (Vp === 0) throw new UserError(`${file}: header[7] (padded vocab Vp) is 0: written by an llm.c from before padded vocabularies; re-export it with a current llm.c train_gpt2.py`);
    if (Vp < config.vocabSize) throw new UserError(`${file}: header[7] (padded vocab Vp) is ${Vp}, smaller than V=${config.vocabSize}; the header is corrupt`);
    const C = config.nEmbd;
    const el = DTYPE_SIZE[dtype];
    const expected = LLMC_HEADER_BYTES + (numParams(config) + (Vp - config.vocabSize) * C) * el;
    if (size !== expected) {
      throw new UserError(
        `${file}: size is ${size} bytes but the header (V=${config.vocabSize}, Vp=${Vp}, L=${config.nLayer}, C=${C}, maxT=${config.blockSize}, ` +
          `version ${h[1]}) needs ${expected}; the file is ${size < expected ? 'truncated' : 'followed by extra bytes'}`,
      );
    }
    const out = allocateWeights(config, opts);
    let pos = LLMC_HEADER_BYTES;
    for (const s of paramSpecs(config)) {
      const view = out.params.get(s.name) as Float32Array;
      readFloats(fd, pos, view, dtype, file, `parameter '${s.name}'`);
      pos += view.length * el;
      if (s.name === 'wte.weight') pos += (Vp - config.vocabSize) * C * el; // skip padding rows
    }
    return { ...out, dtype, paddedVocabSize: Vp };
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes an llm.c checkpoint atomically: version 3 (float32, default) or 5 (bfloat16). */
export function writeLlmcCheckpoint(file: string, config: GPT2Config, params: NamedParams, opts: { dtype?: LlmcDtype } = {}): void {
  validateConfig(config);
  checkParams(config, params, 'writeLlmcCheckpoint');
  const dtype = opts.dtype ?? 'f32';
  const padRows = paddedVocab(config.vocabSize) - config.vocabSize;
  writeAtomically(file, (w) => {
    w.write(encodeLlmcHeader(config, dtype));
    for (const s of paramSpecs(config)) {
      writeFloats(w, params.get(s.name) as Float32Array, dtype);
      if (s.name === 'wte.weight') w.write(new Uint8Array(padRows * config.nEmbd * DTYPE_SIZE[dtype])); // zero rows V..Vp-1
    }
  });
}
