// Opens a .tllm model for inference: the whole file is read into the kernels' shared arena in one piece, and f32
// and int8 tensors are used where they lie (no per-tensor copy, no f32 copy of int8 weights); f16 tensors are
// widened to f32 once. Per-row int8 scales of rows longer than the int8 kernel's block are repeated per block
// (a few KB). The tokenizer is the one the file names ('gpt2', shipped) or embeds (tokenizer.json).
import { decodeF16 } from '../export/half.js';
import type { Int8Group } from '../export/quantize.js';
import { readTllm, type TllmFile, type TllmFinetune, type TllmHeader } from '../export/tllm.js';
import { INT8_MAX_BLOCK } from '../kernels/wasm/index.js';
import type { GPT2Config } from '../models/gpt2/config.js';
import type { Matrix } from '../models/gpt2/matrix.js';
import { blockOf, type Block } from '../models/gpt2/params.js';
import { sharedArena, type Arena } from '../tensor/arena.js';
import type { BpeTokenizer } from '../tokenizer/bpe.js';
import { parseTokenizerJson } from '../tokenizer/files.js';
import { gpt2 } from '../tokenizer/gpt2.js';
import { UserError } from '../util/errors.js';
import { checkMemory } from '../util/memory.js';

export type { Matrix } from '../models/gpt2/matrix.js';

export interface RuntimeWeights {
  /** Token embedding (V, C), also the tied LM head. */
  wte: Matrix;
  wpe: Float32Array; // (maxT, C)
  blocks: Block<Matrix, Float32Array>[];
  lnfw: Float32Array; // (C)
  lnfb: Float32Array; // (C)
}

export interface LoadedModel {
  file: string;
  header: TllmHeader;
  config: GPT2Config;
  weights: RuntimeWeights;
  tokenizer: BpeTokenizer;
  /** Prompt template, sequence start and labels of a fine-tuned model, when the file carries them. */
  finetune?: TllmFinetune;
  /** Size of the model file in bytes. */
  fileBytes: number;
}

export interface LoadModelOptions {
  /** Arena the file is read into (default: the shared arena the kernels and worker threads use). */
  arena?: Arena;
}

/** Loads a .tllm file; problems with the file are UserErrors naming it and saying how to fix it. */
export function loadModel(file: string, opts: LoadModelOptions = {}): LoadedModel {
  const arena = opts.arena ?? sharedArena();
  const f = readTllm(file, {
    // refuse with figures rather than be OOM-killed: the whole file lives in memory (the KV cache grows with use)
    beforeAlloc: (n) => checkMemory(n, `the model in ${file}`, 'export it with --int8 (about a quarter of f32), or use a smaller model'),
    alloc: (n) => arena.alloc('u8', n, { zero: false }),
  });
  const { header } = f;
  const entry = new Map(header.tensors.map((t) => [t.name, t]));
  const vec = (name: string): Float32Array => {
    const data = f.tensor(name);
    if (data instanceof Float32Array) return data;
    const out = arena.alloc('f32', data.length, { zero: false });
    decodeF16(data as Uint16Array, out);
    return out;
  };
  const mat = (name: string): Matrix => {
    const e = entry.get(name);
    if (e?.dtype !== 'i8') return { kind: 'f32', w: vec(name) };
    const [rows, cols] = e.shape;
    return { kind: 'int8', q: f.tensor(name) as Int8Array, ...kernelScales(f, name, rows, cols, e.group as Int8Group, arena) };
  };
  const weights: RuntimeWeights = {
    wte: mat('wte.weight'),
    wpe: vec('wpe.weight'),
    blocks: Array.from({ length: header.config.nLayer }, (_, l) => blockOf(l, mat, vec)),
    lnfw: vec('ln_f.weight'),
    lnfb: vec('ln_f.bias'),
  };
  return {
    file,
    header,
    config: header.config,
    weights,
    tokenizer: openTokenizer(f),
    ...(header.finetune ? { finetune: header.finetune } : {}),
    fileBytes: f.bytes.byteLength,
  };
}

/** The scales in the int8 kernel's form: one per block of `block` values (the file's group, or per-row scales repeated). */
function kernelScales(f: TllmFile, name: string, rows: number, cols: number, group: Int8Group, arena: Arena): { scales: Float32Array; block: number } {
  return blockScales(f.tensor(`${name}.scale`) as Float32Array, rows, cols, group, (n) => arena.alloc('f32', n, { zero: false }));
}

/**
 * Scales (rows, groups) of an int8 matrix in the int8 kernels' form: one per block of a multiple of 16 values, at most
 * INT8_MAX_BLOCK (per-row scales of longer rows repeated per block into `alloc`'d memory, a few KB).
 */
export function blockScales(scales: Float32Array, rows: number, cols: number, group: Int8Group, alloc: (n: number) => Float32Array): { scales: Float32Array; block: number } {
  if (group !== 0) return { scales, block: group };
  if (cols <= INT8_MAX_BLOCK) return { scales, block: Math.ceil(cols / 16) * 16 };
  const per = Math.ceil(cols / INT8_MAX_BLOCK);
  const out = alloc(rows * per);
  for (let r = 0; r < rows; r++) out.fill(scales[r], r * per, (r + 1) * per);
  return { scales: out, block: INT8_MAX_BLOCK };
}

function openTokenizer(f: TllmFile): BpeTokenizer {
  const tok = f.header.tokenizer;
  const t = 'name' in tok ? gpt2() : parseTokenizerJson(`${f.file} (embedded ${tok.tensor})`, new TextDecoder().decode(f.tensor(tok.tensor)));
  if (t.vocabSize > f.header.config.vocabSize) {
    throw new UserError(`${f.file}: its tokenizer has ${t.vocabSize} tokens but the model only ${f.header.config.vocabSize}; re-export it with the tokenizer it was trained with`);
  }
  return t;
}
