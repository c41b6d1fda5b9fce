// The frozen int8 base of LoRA over a quantized model (QLoRA-style, as TinyLLM fine-tunes; Dettmers et al. 2023 with
// int8 instead of NF4): the token embedding / LM head and every block's linear weights held only as int8 + f32 scales
// (GPT2's FrozenBase), LayerNorms, biases and position embeddings as f32 parameters. From a .tllm file the matrices
// are used where the runtime's loader puts them (no f32 copy ever exists); from f32 weights they are quantized once.
import { loadWeights } from '../export/load.js';
import { isTllm } from '../export/tllm.js';
import { quantizeInt8, type Int8Group } from '../export/quantize.js';
import type { FloatArray, Kernels } from '../kernels/types.js';
import type { GPT2Config } from '../models/gpt2/config.js';
import type { Matrix } from '../models/gpt2/matrix.js';
import { GPT2, type FrozenBase } from '../models/gpt2/model.js';
import { blockOf } from '../models/gpt2/params.js';
import { loadModel } from '../runtime/model.js';
import { sharedArena } from '../tensor/arena.js';
import { UserError } from '../util/errors.js';

/** A block's f32 tensors (LayerNorms and biases): parameters of the int8-base model. */
const BLOCK_VECTORS = ['ln1w', 'ln1b', 'qkvb', 'attprojb', 'ln2w', 'ln2b', 'fcb', 'fcprojb'] as const;

/** Int8 groups a base can be quantized with (the wasm int8 kernel needs blocks of a multiple of 16 values). */
export const BASE_GROUPS: readonly Int8Group[] = [32, 64];

export interface Int8BaseModel {
  model: GPT2;
  /** Bytes the frozen matrices take (int8 values + scales, or f32 where the file stores f32). */
  frozenBytes: number;
}

/** A model with the .tllm file's matrices as its frozen base (as stored: int8, or f32) and its other tensors copied in. */
export function int8ModelFromTllm(file: string, kernels?: Kernels): Int8BaseModel {
  const m = loadModel(file);
  const w = m.weights;
  const frozen: FrozenBase = { wte: w.wte, h: w.blocks.map((b) => ({ qkvw: b.qkvw, attprojw: b.attprojw, fcw: b.fcw, fcprojw: b.fcprojw })) };
  const vectors = new Map<string, FloatArray>([
    ['wpe.weight', w.wpe],
    ['ln_f.weight', w.lnfw],
    ['ln_f.bias', w.lnfb],
  ]);
  w.blocks.forEach((b, l) => {
    const names = blockOf(l, (n) => n, (n) => n);
    for (const key of BLOCK_VECTORS) vectors.set(names[key], b[key]);
  });
  return build(m.config, frozen, (name) => vectors.get(name), kernels);
}

/** A model whose linear weights and tied embedding are quantized from f32 weights (paramSpecs names) to int8 groups of `group`. */
export function int8ModelFromWeights(config: GPT2Config, get: (name: string) => Float32Array | undefined, group: Int8Group, kernels?: Kernels): Int8BaseModel {
  if (!BASE_GROUPS.includes(group)) throw new UserError(`--base-group must be ${BASE_GROUPS.join(' or ')}, got ${group}`);
  const arena = sharedArena();
  const { nEmbd: C, vocabSize: V } = config;
  const quantize = (name: string, rows: number, cols: number): Matrix => {
    const w = get(name);
    if (!w) throw new Error(`int8ModelFromWeights: no tensor '${name}'`);
    const q = arena.alloc('i8', rows * cols, { zero: false });
    const scales = arena.alloc('f32', rows * Math.ceil(cols / group), { zero: false });
    quantizeInt8(w, rows, cols, group, { q, scales });
    return { kind: 'int8', q, scales, block: group };
  };
  const frozen: FrozenBase = {
    wte: quantize('wte.weight', V, C),
    h: Array.from({ length: config.nLayer }, (_, l) => ({
      qkvw: quantize(`h.${l}.attn.c_attn.weight`, 3 * C, C),
      attprojw: quantize(`h.${l}.attn.c_proj.weight`, C, C),
      fcw: quantize(`h.${l}.mlp.c_fc.weight`, 4 * C, C),
      fcprojw: quantize(`h.${l}.mlp.c_proj.weight`, C, 4 * C),
    })),
  };
  return build(config, frozen, get, kernels);
}

/** The frozen base of a run: the .tllm file's matrices as stored, or f32 weights (any loadWeights format) quantized. */
export function loadInt8Base(from: string, group: Int8Group, kernels?: Kernels): Int8BaseModel {
  if (isTllm(from)) return int8ModelFromTllm(from, kernels);
  const w = loadWeights(from);
  return int8ModelFromWeights(w.config, (name) => w.params.get(name) as Float32Array | undefined, group, kernels);
}

function build(config: GPT2Config, frozen: FrozenBase, get: (name: string) => FloatArray | undefined, kernels?: Kernels): Int8BaseModel {
  const model = new GPT2(config, { seed: null, frozen, kernels });
  for (const e of model.params.table) {
    const v = get(e.name);
    if (!v) throw new Error(`int8 base: no tensor '${e.name}'`);
    model.params.get(e.name).set(v);
  }
  const bytes = (m: Matrix) => (m.kind === 'f32' ? 4 * m.w.length : m.q.length + 4 * m.scales.length);
  const frozenBytes = bytes(frozen.wte) + frozen.h.reduce((n, b) => n + bytes(b.qkvw) + bytes(b.attprojw) + bytes(b.fcw) + bytes(b.fcprojw), 0);
  return { model, frozenBytes };
}
