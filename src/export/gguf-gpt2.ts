// GPT-2 in GGUF as llama.cpp loads it (src/models/gpt2.cpp, and what convert_hf_to_gguf.py writes for
// GPT2LMHeadModel): architecture "gpt2" with its hyperparameter keys, tensors token_embd, position_embd,
// blk.N.{attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down}, output_norm (the LM head is tied, so no
// "output"), weights in PyTorch (out, in) order = ggml dims (in, out); and the byte-level BPE tokenizer
// (tokenizer.ggml.model "gpt2", pre "gpt-2", tokens, token_type, merges, bos/eos ids). As convert_hf_to_gguf does,
// 1-D tensors and position_embd stay F32 and a Q8_0 matrix whose rows are not a multiple of 32 falls back to F16.
import { numTensors, paramSpecs, validateConfig, type GPT2Config } from '../models/gpt2/config.js';
import { EOT_TEXT, type BpeModel } from '../tokenizer/types.js';
import type { BpeTokenizer } from '../tokenizer/bpe.js';
import { tokenStrings, tokenizerFromStrings } from '../tokenizer/files.js';
import { quoteValue, UserError } from '../util/errors.js';
import { GgufReader, Q8_0_BLOCK, writeGguf, type GgmlTypeName, type GgufScalar, type GgufValue } from './gguf.js';
import { allocateWeights, checkParams, type LoadedWeights, type LoadOptions, type NamedParams } from './params.js';

export type GgufDtype = 'f32' | 'f16' | 'q8_0';
/** general.file_type values (llama.cpp's LLAMA_FTYPE): ALL_F32, MOSTLY_F16, MOSTLY_Q8_0. */
const FILE_TYPE: Record<GgufDtype, number> = { f32: 0, f16: 1, q8_0: 7 };
const MATRIX_TYPE: Record<GgufDtype, GgmlTypeName> = { f32: 'F32', f16: 'F16', q8_0: 'Q8_0' };
/** tokenizer.ggml.token_type values (gguf-py TokenType). */
export const TOKEN_TYPE = { normal: 1, control: 3, unused: 5 } as const;
const LN_EPS = 1e-5;
/** A metadata value from the file, short enough for an error message (u64 values may be bigints). */
const shown = (v: unknown): string => (Array.isArray(v) ? `an array of ${v.length} items` : quoteValue(typeof v === 'bigint' ? String(v) : v));

/** GGUF tensor name of a paramSpecs name (e.g. h.3.mlp.c_fc.weight -> blk.3.ffn_up.weight). */
export function ggufTensorName(name: string): string {
  const top: Record<string, string> = { 'wte.weight': 'token_embd.weight', 'wpe.weight': 'position_embd.weight', 'ln_f.weight': 'output_norm.weight', 'ln_f.bias': 'output_norm.bias' };
  if (top[name]) return top[name];
  const m = /^h\.(\d+)\.(ln_1|attn\.c_attn|attn\.c_proj|ln_2|mlp\.c_fc|mlp\.c_proj)\.(weight|bias)$/.exec(name);
  if (!m) throw new Error(`ggufTensorName: no GGUF name for parameter '${name}'`);
  const block: Record<string, string> = { ln_1: 'attn_norm', 'attn.c_attn': 'attn_qkv', 'attn.c_proj': 'attn_output', ln_2: 'ffn_norm', 'mlp.c_fc': 'ffn_up', 'mlp.c_proj': 'ffn_down' };
  return `blk.${m[1]}.${block[m[2]]}.${m[3]}`;
}

/** The tensor type a parameter is stored as for a file dtype. */
function storedType(name: string, shape: number[], dtype: GgufDtype): GgmlTypeName {
  if (shape.length === 1 || name === 'wpe.weight') return 'F32';
  if (dtype === 'q8_0' && shape[1] % Q8_0_BLOCK !== 0) return 'F16';
  return MATRIX_TYPE[dtype];
}

export interface SaveGgufOptions {
  dtype?: GgufDtype;
  /** general.name (default "tinyllm GPT-2"). */
  name?: string;
}

const u32 = (value: number): GgufValue => ({ type: 'u32', value });
const str = (value: string): GgufValue => ({ type: 'string', value });

/** The tokenizer metadata: one token per embedding row (rows beyond the tokenizer are unused "<|pad_N|>" tokens). */
function tokenizerMetadata(tokenizer: BpeModel, vocabSize: number): [string, GgufValue][] {
  if (tokenizer.tokens.length > vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.tokens.length} tokens but the model only ${vocabSize} embedding rows; give the tokenizer the model was trained with`);
  }
  const strings = tokenStrings(tokenizer);
  const special = new Set(tokenizer.special.values());
  const types: number[] = strings.map((_, id) => (special.has(id) ? TOKEN_TYPE.control : TOKEN_TYPE.normal));
  for (let id = strings.length; id < vocabSize; id++) {
    strings.push(`<|pad_${id}|>`);
    types.push(TOKEN_TYPE.unused);
  }
  const eot = tokenizer.special.get(EOT_TEXT) as number;
  return [
    ['tokenizer.ggml.model', str('gpt2')],
    ['tokenizer.ggml.pre', str('gpt-2')],
    ['tokenizer.ggml.tokens', { type: 'array', itemType: 'string', value: strings }],
    ['tokenizer.ggml.token_type', { type: 'array', itemType: 'i32', value: types }],
    ['tokenizer.ggml.merges', { type: 'array', itemType: 'string', value: tokenizer.merges.map(([a, b]) => `${strings[a]} ${strings[b]}`) }],
    ['tokenizer.ggml.bos_token_id', u32(eot)],
    ['tokenizer.ggml.eos_token_id', u32(eot)],
    ['tokenizer.ggml.add_bos_token', { type: 'bool', value: false }],
  ];
}

/** Writes a GGUF file llama.cpp loads as a GPT-2, with the tokenizer embedded. */
export function saveGgufGPT2(file: string, config: GPT2Config, params: NamedParams, tokenizer: BpeModel, opts: SaveGgufOptions = {}): void {
  validateConfig(config);
  checkParams(config, params, 'saveGgufGPT2');
  const dtype = opts.dtype ?? 'f32';
  const C = config.nEmbd;
  const metadata = new Map<string, GgufValue>([
    ['general.architecture', str('gpt2')],
    ['general.name', str(opts.name ?? 'tinyllm GPT-2')],
    ['general.alignment', u32(32)],
    ['gpt2.block_count', u32(config.nLayer)],
    ['gpt2.context_length', u32(config.blockSize)],
    ['gpt2.embedding_length', u32(C)],
    ['gpt2.feed_forward_length', u32(4 * C)],
    ['gpt2.attention.head_count', u32(config.nHead)],
    ['gpt2.attention.layer_norm_epsilon', { type: 'f32', value: LN_EPS }],
    ['general.file_type', u32(FILE_TYPE[dtype])],
    ...(dtype === 'q8_0' ? ([['general.quantization_version', u32(2)]] as [string, GgufValue][]) : []),
    ...tokenizerMetadata(tokenizer, config.vocabSize),
  ]);
  const tensors = paramSpecs(config).map((s) => ({
    name: ggufTensorName(s.name),
    dims: [...s.shape].reverse(),
    type: storedType(s.name, s.shape, dtype),
    data: params.get(s.name) as Float32Array,
  }));
  writeGguf(file, metadata, tensors);
}

export interface GgufGPT2 extends LoadedWeights {
  /** The embedded tokenizer, or null when the file has none. */
  tokenizer: BpeTokenizer | null;
  /** Stored type of each tensor, by GGUF name. */
  types: Map<string, GgmlTypeName>;
}

/** A positive integer metadata value, or a UserError naming the key. */
function positiveInt(r: GgufReader, key: string): number {
  const v = r.metadata.get(key);
  if (!v) throw new UserError(`${r.file}: metadata '${key}' is missing; it is required for a GPT-2 GGUF file`);
  if (v.type === 'array' || typeof v.value !== 'number' || !Number.isSafeInteger(v.value) || v.value <= 0) {
    throw new UserError(`${r.file}: metadata '${key}' is ${shown(v.value)} (${v.type}); it must be a positive integer`);
  }
  return v.value;
}

function stringArray(r: GgufReader, key: string): string[] | null {
  const v = r.metadata.get(key);
  if (!v) return null;
  if (v.type !== 'array' || v.itemType !== 'string') throw new UserError(`${r.file}: metadata '${key}' must be an array of strings, got ${v.type === 'array' ? `an array of ${v.itemType}` : v.type}`);
  return v.value as string[];
}

function readTokenizer(r: GgufReader, vocabSize: number): BpeTokenizer | null {
  const tokens = stringArray(r, 'tokenizer.ggml.tokens');
  if (!tokens) return null;
  const model = r.metadata.get('tokenizer.ggml.model')?.value;
  if (model !== 'gpt2') throw new UserError(`${r.file}: tokenizer.ggml.model is ${shown(model)}; tinyllm reads the byte-level BPE tokenizer ("gpt2"); give --tokenizer to use another one`);
  if (tokens.length !== vocabSize) throw new UserError(`${r.file}: tokenizer.ggml.tokens has ${tokens.length} tokens but token_embd.weight has ${vocabSize} rows; the file is corrupt`);
  const typesV = r.metadata.get('tokenizer.ggml.token_type');
  let types: GgufScalar[] = [];
  if (typesV) {
    if (typesV.type !== 'array' || typesV.value.length !== tokens.length) throw new UserError(`${r.file}: tokenizer.ggml.token_type must be an array with one entry per token (${tokens.length})`);
    types = typesV.value;
  }
  const special = new Set<number>();
  types.forEach((t, id) => {
    if (t !== TOKEN_TYPE.normal) special.add(id);
  });
  return tokenizerFromStrings(`${r.file} tokenizer`, tokens, special, stringArray(r, 'tokenizer.ggml.merges') ?? []);
}

/** Loads a GPT-2 GGUF file (F32 / F16 / BF16 / Q8_0 tensors, dequantized to float32) and its tokenizer. */
export function loadGgufGPT2(file: string, opts: LoadOptions = {}): GgufGPT2 {
  const r = new GgufReader(file);
  try {
    const arch = r.metadata.get('general.architecture')?.value;
    if (arch !== 'gpt2') throw new UserError(`${file}: general.architecture is ${shown(arch ?? null)}; tinyllm runs GPT-2 GGUF files ("gpt2") only`);
    const C = positiveInt(r, 'gpt2.embedding_length');
    const embd = r.info('token_embd.weight');
    if (embd.dims.length !== 2 || embd.dims[0] !== C) throw new UserError(`${file}: token_embd.weight has dims [${embd.dims}], expected [${C}, vocab size]`);
    const config: GPT2Config = { blockSize: positiveInt(r, 'gpt2.context_length'), vocabSize: embd.dims[1], nLayer: positiveInt(r, 'gpt2.block_count'), nHead: positiveInt(r, 'gpt2.attention.head_count'), nEmbd: C };
    if (C % config.nHead !== 0) throw new UserError(`${file}: gpt2.embedding_length ${C} is not divisible by gpt2.attention.head_count ${config.nHead}`);
    if (r.metadata.has('gpt2.feed_forward_length') && positiveInt(r, 'gpt2.feed_forward_length') !== 4 * C) {
      throw new UserError(`${file}: gpt2.feed_forward_length is ${positiveInt(r, 'gpt2.feed_forward_length')}; tinyllm's GPT-2 has 4 × embedding_length (${4 * C})`);
    }
    const eps = r.metadata.get('gpt2.attention.layer_norm_epsilon')?.value;
    if (eps !== undefined && (typeof eps !== 'number' || Math.abs(eps - LN_EPS) > 1e-9)) {
      throw new UserError(`${file}: gpt2.attention.layer_norm_epsilon is ${shown(eps)}; tinyllm's GPT-2 uses ${LN_EPS}`);
    }
    // every shape is checked against the tensor table (bounded by the file size) before anything is allocated
    if (numTensors(config) > r.tensors.size) {
      throw new UserError(`${file}: gpt2.block_count is ${config.nLayer} but the file has ${r.tensors.size} tensors (a GPT-2 block has 12); the file is corrupt`);
    }
    const specs = paramSpecs(config);
    const expected = new Set(specs.map((s) => ggufTensorName(s.name)));
    for (const name of r.tensors.keys()) {
      if (!expected.has(name) && name !== 'output.weight') throw new UserError(`${file}: unexpected tensor ${quoteValue(name)} for a GPT-2 with ${config.nLayer} blocks`);
    }
    const types = new Map<string, GgmlTypeName>();
    for (const s of specs) {
      const name = ggufTensorName(s.name);
      const want = [...s.shape].reverse();
      const t = r.info(name);
      if (t.dims.length !== want.length || t.dims.some((d, i) => d !== want[i])) {
        throw new UserError(`${file}: tensor '${name}' has dims [${t.dims}], expected [${want}] (ggml order) for this config`);
      }
      types.set(name, r.typeOf(name));
    }
    const tokenizer = readTokenizer(r, config.vocabSize);
    const out = allocateWeights(config, opts);
    for (const s of specs) r.readFloat32(ggufTensorName(s.name), out.params.get(s.name));
    if (r.tensors.has('output.weight')) {
      const head = r.readFloat32('output.weight');
      const wte = out.params.get('wte.weight') as Float32Array;
      if (head.length !== wte.length || !head.every((v, i) => Object.is(v, wte[i]))) {
        throw new UserError(`${file}: tensor 'output.weight' differs from 'token_embd.weight'; tinyllm's GPT-2 ties the LM head to the token embedding, so untied heads cannot be loaded`);
      }
    }
    return { ...out, tokenizer, types };
  } finally {
    r.close();
  }
}
