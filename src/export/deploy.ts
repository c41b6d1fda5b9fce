// Builds a .tllm deployment file from GPT-2 weights (the exchange form of src/export/params.ts): matrices stored as
// f32, f16 or int8 (quantize.ts) by the scheme, the token embedding / tied LM head by its own setting, vectors and
// the position table as f32 (f16 in an all-f16 export), and the tokenizer by name ('gpt2') or embedded. Blocks in
// scheme.keepF32 keep f32 matrices (a mixed file: every tensor carries its own dtype; the header lists the blocks').
import { paramSpecs, type GPT2Config } from '../models/gpt2/config.js';
import { encodeF16 } from './half.js';
import { checkParams, type NamedParams } from './params.js';
import { groupsPerRow, quantizeInt8, type Int8Group } from './quantize.js';
import { TOKENIZER_TENSOR, writeTllm, type StorageKind, type TensorToStore, type TllmFinetune, type TllmHeader } from './tllm.js';

export interface TllmScheme {
  /** Storage of the layers' matrices. */
  weights: StorageKind;
  /** Storage of the token embedding, which is also the LM head. */
  embedding: StorageKind;
  /** Int8 values per scale along a row (0 = per row). */
  group: Int8Group;
  /** Blocks whose matrices stay f32 whatever `weights` says (per-block precision, export/precision.ts). */
  keepF32?: number[];
}

export interface ExportTllmOptions {
  scheme: TllmScheme;
  /** 'gpt2' (the shipped tokenizer, stored by name) or the text of a tokenizer.json to embed. */
  tokenizer: 'gpt2' | { json: string };
  finetune?: TllmFinetune;
  source?: Record<string, unknown>;
}

/** The tensors of a .tllm file for `params` under `scheme`, in paramSpecs order (int8 ones followed by their scales). */
export function tllmTensors(config: GPT2Config, params: NamedParams, scheme: TllmScheme): TensorToStore[] {
  checkParams(config, params, 'tllmTensors');
  const vectors: StorageKind = scheme.weights === 'f16' ? 'f16' : 'f32';
  const out: TensorToStore[] = [];
  for (const { name, shape } of paramSpecs(config)) {
    const data = params.get(name) as Float32Array;
    const isMatrix = shape.length === 2 && name !== 'wpe.weight';
    const block = /^h\.(\d+)\./.exec(name);
    const kept = isMatrix && block !== null && (scheme.keepF32 ?? []).includes(Number(block[1]));
    const kind = name === 'wte.weight' ? scheme.embedding : kept ? 'f32' : isMatrix ? scheme.weights : vectors;
    if (kind === 'f32') out.push({ name, dtype: 'f32', shape, data });
    else if (kind === 'f16') {
      const h = new Uint16Array(data.length);
      encodeF16(data, h);
      out.push({ name, dtype: 'f16', shape, data: h });
    } else {
      const [rows, cols] = shape;
      const t = quantizeInt8(data, rows, cols, scheme.group);
      out.push({ name, dtype: 'i8', shape, data: t.q, group: scheme.group });
      out.push({ name: `${name}.scale`, dtype: 'f32', shape: [rows, groupsPerRow(cols, scheme.group)], data: t.scales });
    }
  }
  return out;
}

/** Writes `params` as a .tllm file (atomically). Returns the header as written. */
export function exportTllm(file: string, config: GPT2Config, params: NamedParams, opts: ExportTllmOptions): TllmHeader {
  const tensors = tllmTensors(config, params, opts.scheme);
  const { weights, embedding, group, keepF32 } = opts.scheme;
  const tokenizer = opts.tokenizer === 'gpt2' ? { name: 'gpt2' as const } : { tensor: TOKENIZER_TENSOR };
  if (opts.tokenizer !== 'gpt2') {
    const bytes = new TextEncoder().encode(opts.tokenizer.json);
    tensors.push({ name: TOKENIZER_TENSOR, dtype: 'u8', shape: [bytes.length], data: bytes });
  }
  return writeTllm(file, {
    format: 'tinyllm-model',
    config,
    quantization: { weights, embedding, group, ...(keepF32?.length ? { layers: Array.from({ length: config.nLayer }, (_, l) => (keepF32.includes(l) ? 'f32' : weights)) } : {}) },
    tokenizer,
    ...(opts.finetune ? { finetune: opts.finetune } : {}),
    ...(opts.source ? { source: opts.source } : {}),
  }, tensors);
}
