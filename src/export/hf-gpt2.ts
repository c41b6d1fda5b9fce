// Hugging Face `transformers` GPT-2 checkpoints (GPT2LMHeadModel): a directory with config.json and
// model.safetensors (or sharded model.safetensors.index.json). Follows modeling_gpt2.py and
// save_pretrained: keys may carry 'transformer.', lm_head.weight is tied to wte (absent or equal), the
// attn.bias / attn.masked_bias causal-mask buffers are ignored, and the Conv1D weights (c_attn,
// attn.c_proj, c_fc, mlp.c_proj) are stored (in, out), i.e. transposed from our nn.Linear (out, in).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSequenceStart, type SequenceStart } from '../task/sequence.js';
import { paramSpecs, validateConfig, type GPT2Config } from '../models/gpt2/config.js';
import { oneLine, quoteValue, UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { WeightDtype } from './binary.js';
import { allocateWeights, checkParams, type LoadedWeights, type LoadOptions, type NamedParams } from './params.js';
import { SafetensorsReader, writeSafetensors, type SafetensorsEntry, type TensorToWrite } from './safetensors.js';

/** Parameter-name suffixes of the Conv1D layers whose weights Hugging Face stores as (in, out). */
export const CONV1D_WEIGHTS = ['attn.c_attn.weight', 'attn.c_proj.weight', 'mlp.c_fc.weight', 'mlp.c_proj.weight'];
const isConv1D = (name: string): boolean => CONV1D_WEIGHTS.some((s) => name.endsWith(`.${s}`));
const MASK_BUFFER = /^h\.\d+\.attn\.(bias|masked_bias)$/;

export const HF_WEIGHTS_FILE = 'model.safetensors';
export const HF_INDEX_FILE = 'model.safetensors.index.json';
export const HF_CONFIG_FILE = 'config.json';

const TORCH_DTYPE: Record<WeightDtype, string> = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' };

/** out(cols, rows) = src(rows, cols)ᵀ. Writing out contiguously measured ~3x faster than reading src so. */
export function transpose(src: Float32Array, rows: number, cols: number, out: Float32Array = new Float32Array(rows * cols)): Float32Array {
  for (let c = 0; c < cols; c++) {
    const o = c * rows;
    for (let r = 0; r < rows; r++) out[o + r] = src[r * cols + c];
  }
  return out;
}

export interface SaveHFOptions {
  /** Stored dtype of the weights (default f32). */
  dtype?: WeightDtype;
  /** Token ids for config.json; default 50256 (GPT-2's <|endoftext|>) when vocabSize is 50257, else unset. */
  bosTokenId?: number;
  eosTokenId?: number;
  /** How the model's sequences start, written as config.json `tinyllm_sequence_start` (default: not written). */
  sequenceStart?: SequenceStart;
}

/** The config.json `transformers` needs to load our model as GPT2LMHeadModel (keys sorted as it writes them). */
export function hfConfigJson(config: GPT2Config, opts: SaveHFOptions = {}): Record<string, unknown> {
  const gpt2Eot = config.vocabSize === 50257 ? 50256 : null;
  return {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    attn_pdrop: 0.1,
    bos_token_id: opts.bosTokenId ?? gpt2Eot,
    embd_pdrop: 0.1,
    eos_token_id: opts.eosTokenId ?? gpt2Eot,
    initializer_range: 0.02,
    layer_norm_epsilon: 1e-5,
    model_type: 'gpt2',
    n_ctx: config.blockSize,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: null,
    n_layer: config.nLayer,
    n_positions: config.blockSize,
    reorder_and_upcast_attn: false,
    resid_pdrop: 0.1,
    scale_attn_by_inverse_layer_idx: false,
    scale_attn_weights: true,
    tie_word_embeddings: true,
    torch_dtype: TORCH_DTYPE[opts.dtype ?? 'f32'],
    use_cache: true,
    vocab_size: config.vocabSize,
    ...(opts.sequenceStart ? { [SEQUENCE_START_KEY]: opts.sequenceStart } : {}),
  };
}

/** config.json key recording the sequence-start rule (transformers keeps unknown keys as attributes). */
export const SEQUENCE_START_KEY = 'tinyllm_sequence_start';

/** Reads and checks a GPT-2 config.json; errors name the file and field and say what is supported. */
export function parseHFConfig(file: string, json: unknown): GPT2Config & { tieWordEmbeddings: boolean } {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${file}: expected a JSON object`);
  const c = json as Record<string, unknown>;
  const bad = (field: string, why: string): never => {
    throw new UserError(`${file}: field "${field}" ${why}`);
  };
  if (c.model_type !== 'gpt2') bad('model_type', `is ${quoteValue(c.model_type)}; only "gpt2" (GPT2LMHeadModel) checkpoints are supported`);
  const int = (field: string, fallback?: string): number => {
    const v = c[field] ?? (fallback !== undefined ? c[fallback] : undefined);
    if (!Number.isSafeInteger(v) || (v as number) <= 0) bad(field, `must be a positive integer, got ${quoteValue(v)}`);
    return v as number;
  };
  const config: GPT2Config = { blockSize: int('n_positions', 'n_ctx'), vocabSize: int('vocab_size'), nLayer: int('n_layer'), nHead: int('n_head'), nEmbd: int('n_embd') };
  if (config.nEmbd % config.nHead !== 0) bad('n_embd', `(${config.nEmbd}) must be divisible by n_head (${config.nHead})`);
  const act = c.activation_function ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu_pytorch_tanh') bad('activation_function', `is ${quoteValue(act)}; tinyllm's GPT-2 uses the tanh GELU ("gelu_new")`);
  const eps = c.layer_norm_epsilon;
  if (eps !== undefined && !(typeof eps === 'number' && Math.abs(eps - 1e-5) <= 1e-12)) {
    bad('layer_norm_epsilon', `is ${quoteValue(c.layer_norm_epsilon)}; tinyllm's GPT-2 uses 1e-5`);
  }
  if (c.n_inner !== undefined && c.n_inner !== null && c.n_inner !== 4 * config.nEmbd) bad('n_inner', `is ${quoteValue(c.n_inner)}; only 4 * n_embd (${4 * config.nEmbd}) or null is supported`);
  if (c.scale_attn_weights === false) bad('scale_attn_weights', 'is false; tinyllm scales attention by 1/sqrt(head size)');
  if (c.scale_attn_by_inverse_layer_idx === true) bad('scale_attn_by_inverse_layer_idx', 'is true; this variant is not supported');
  return { ...config, tieWordEmbeddings: c.tie_word_embeddings !== false };
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${oneLine((e as Error).message)})`);
  }
}

/** Finds config.json and the weight files of a checkpoint given as a directory or a .safetensors file. */
function locate(dirOrFile: string): { configFile: string; weightFiles: string[] } {
  const isDir = fs.statSync(dirOrFile, { throwIfNoEntry: false })?.isDirectory();
  if (isDir === undefined) throw new UserError(`${dirOrFile}: no such file or directory`);
  const dir = isDir ? dirOrFile : path.dirname(dirOrFile);
  const configFile = path.join(dir, HF_CONFIG_FILE);
  if (!fs.existsSync(configFile)) {
    throw new UserError(`${configFile}: missing; a Hugging Face GPT-2 checkpoint needs its config.json beside the weights (n_head cannot be read from tensor shapes)`);
  }
  if (!isDir) return { configFile, weightFiles: [dirOrFile] };
  const single = path.join(dir, HF_WEIGHTS_FILE);
  if (fs.existsSync(single)) return { configFile, weightFiles: [single] };
  const index = path.join(dir, HF_INDEX_FILE);
  if (fs.existsSync(index)) {
    const map = (readJson(index) as { weight_map?: unknown } | null)?.weight_map;
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new UserError(`${index}: field "weight_map" is missing`);
    const files = [...new Set(Object.values(map))];
    const bad = files.find((f) => typeof f !== 'string' || path.basename(f) !== f || !f.endsWith('.safetensors'));
    if (bad !== undefined) throw new UserError(`${index}: "weight_map" names ${quoteValue(bad)}; it must map tensors to .safetensors files in ${dir}`);
    return { configFile, weightFiles: (files as string[]).map((f) => path.join(dir, f)) };
  }
  const pickle = ['pytorch_model.bin', 'tf_model.h5', 'flax_model.msgpack'].find((f) => fs.existsSync(path.join(dir, f)));
  throw new UserError(
    `${dir}: no ${HF_WEIGHTS_FILE} found` +
      (pickle
        ? ` (only ${pickle}, which tinyllm cannot read safely); convert it in Python: ` +
          `GPT2LMHeadModel.from_pretrained('${dir}').save_pretrained('${dir}', safe_serialization=True)`
        : ''),
  );
}

/** Loads a Hugging Face GPT-2 checkpoint (directory, or a .safetensors file with config.json beside it). */
export function loadHFGPT2(dirOrFile: string, opts: LoadOptions = {}): LoadedWeights {
  const { configFile, weightFiles } = locate(dirOrFile);
  const json = readJson(configFile);
  const { tieWordEmbeddings, ...config } = parseHFConfig(configFile, json);
  const recorded = (json as Record<string, unknown>)[SEQUENCE_START_KEY];
  const sequenceStart = recorded === undefined ? undefined : parseSequenceStart(String(recorded), `${configFile}: ${SEQUENCE_START_KEY}`);
  const readers: SafetensorsReader[] = [];
  try {
    // every tensor under our name (prefix stripped), with the reader that holds it
    const found = new Map<string, { r: SafetensorsReader; e: SafetensorsEntry }>();
    let lmHead: { r: SafetensorsReader; e: SafetensorsEntry } | undefined;
    for (const f of weightFiles) {
      const r = new SafetensorsReader(f);
      readers.push(r);
      for (const e of r.header.entries) {
        if (e.name === 'lm_head.weight') {
          lmHead = { r, e };
          continue;
        }
        const key = e.name.startsWith('transformer.') ? e.name.slice('transformer.'.length) : e.name;
        if (MASK_BUFFER.test(key)) continue;
        if (found.has(key)) throw new UserError(`${f}: tensor '${key}' appears twice (with and without the 'transformer.' prefix, or in two shards)`);
        found.set(key, { r, e });
      }
    }
    // Sizes come from config.json: a layer count the files cannot hold is refused before listing its tensors.
    if (config.nLayer > found.size) {
      throw new UserError(`${configFile}: n_layer=${config.nLayer}, but ${weightFiles.map((f) => path.basename(f)).join(', ')} holds only ${found.size} tensors; is this config.json the one saved with these weights?`);
    }
    const specs = paramSpecs(config);
    const known = new Set(specs.map((s) => s.name));
    for (const [key, { r }] of found) {
      if (!known.has(key)) throw new UserError(`${r.file}: unexpected tensor ${quoteValue(key)} for a GPT-2 with n_layer=${config.nLayer} (is ${configFile} the right config?)`);
    }
    // every tensor present with its shape before allocating: then the weights are no larger than the files
    const plan = specs.map((s) => {
      const hit = found.get(s.name);
      if (!hit) throw new UserError(`${weightFiles.join(', ')}: tensor '${s.name}' is missing (config ${configFile} has n_layer=${config.nLayer})`);
      const conv = isConv1D(s.name);
      const want = conv ? [...s.shape].reverse() : s.shape;
      checkShape(hit.r.file, hit.e, want, conv);
      return { name: s.name, hit, conv, want };
    });
    const out = allocateWeights(config, opts);
    for (const { name, hit, conv, want } of plan) {
      const view = out.params.get(name) as Float32Array;
      if (conv) transpose(hit.r.readFloat32(hit.e.name), want[0], want[1], view);
      else hit.r.readFloat32(hit.e.name, view);
    }
    if (lmHead) {
      checkShape(lmHead.r.file, lmHead.e, [config.vocabSize, config.nEmbd], false);
      const head = lmHead.r.readFloat32('lm_head.weight');
      const wte = out.params.get('wte.weight') as Float32Array;
      if (!head.every((v, i) => Object.is(v, wte[i]))) {
        throw new UserError(
          `${lmHead.r.file}: tensor 'lm_head.weight' differs from 'wte.weight'` +
            `${tieWordEmbeddings ? '' : ' (config has tie_word_embeddings: false)'}; tinyllm's GPT-2 ties the LM head to the token embedding, so untied heads cannot be loaded`,
        );
      }
    }
    return sequenceStart ? { ...out, sequenceStart } : out;
  } finally {
    for (const r of readers) r.close();
  }
}

function checkShape(file: string, e: SafetensorsEntry, want: number[], conv: boolean): void {
  if (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i])) {
    throw new UserError(
      `${file}: tensor '${e.name}' has shape [${e.shape}], expected [${want}]` +
        `${conv ? ' (Hugging Face Conv1D layout: (in, out))' : ''}; the weights do not match config.json`,
    );
  }
}

/**
 * Writes a directory `transformers` loads with GPT2LMHeadModel.from_pretrained(dir): config.json and
 * model.safetensors ('transformer.'-prefixed keys, Conv1D weights transposed, lm_head tied so omitted,
 * metadata {format: 'pt'}, as save_pretrained writes it). Each file is written atomically.
 */
export function saveHFGPT2(dir: string, config: GPT2Config, params: NamedParams, opts: SaveHFOptions = {}): void {
  validateConfig(config);
  checkParams(config, params, 'saveHFGPT2');
  if (fs.statSync(dir, { throwIfNoEntry: false })?.isFile()) throw new UserError(`${dir}: is a file; a Hugging Face checkpoint is a directory (choose another output path)`);
  const tensors: TensorToWrite[] = paramSpecs(config).map((s) => {
    const data = params.get(s.name) as Float32Array;
    const conv = isConv1D(s.name);
    return {
      name: `transformer.${s.name}`,
      shape: conv ? [...s.shape].reverse() : s.shape,
      data: conv ? () => transpose(data, s.shape[0], s.shape[1]) : data,
      dtype: opts.dtype ?? 'f32',
    };
  });
  writeSafetensors(path.join(dir, HF_WEIGHTS_FILE), tensors, { format: 'pt' });
  writeFileAtomic(path.join(dir, HF_CONFIG_FILE), `${JSON.stringify(hfConfigJson(config, opts), null, 2)}\n`);
}
