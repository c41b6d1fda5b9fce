// `tinyllm pretrain`: pre-train a GPT-2 (a preset or a custom size) on token shards, with gradient
// accumulation, AdamW + warmup/cosine schedule, validation, samples, metrics, a loss-curve SVG and
// resumable atomic checkpoints. The loop itself is src/train/run.ts.
import * as path from 'node:path';
import { availableTiers, setKernels } from '../../kernels/index.js';
import { GPT2_PRESETS, presetConfig, validateConfig, type GPT2Config, type GPT2PresetName } from '../../models/gpt2/config.js';
import { checkpointPath, configDiff, readCheckpointHeader } from '../../train/checkpoint.js';
import { runPretraining, type RunSettings } from '../../train/run.js';
import { loadWeights } from '../../export/load.js';
import { UserError } from '../../util/errors.js';
import { parseCommand, type OptionSpecs, type ParsedOptions } from '../args.js';

export const summary = 'pre-train a GPT-2 on token shards (resumable checkpoints, metrics, loss curve)';

const presets = Object.keys(GPT2_PRESETS).join(', ');
/** The custom-size flags (shared with finetune, which trains from scratch with them). */
export const CUSTOM_SIZE_OPTIONS = {
  'n-layer': { type: 'number', help: 'custom size: transformer blocks' },
  'n-head': { type: 'number', help: 'custom size: attention heads' },
  'n-embd': { type: 'number', help: 'custom size: embedding width (a multiple of --n-head)' },
  'block-size': { type: 'number', help: 'context length (default 1024 for presets, 256 for custom sizes)' },
  'vocab-size': { type: 'number', help: "vocabulary size (default: the tokenizer's, 50257 for gpt2)" },
} satisfies OptionSpecs;

const options = {
  model: { type: 'string', help: `preset: ${presets} (default 30M unless --n-layer/--n-head/--n-embd are given)` },
  ...CUSTOM_SIZE_OPTIONS,
  data: { type: 'string', help: "token shards: a directory with *_train_NNNNNN.bin (and *_val_*) from 'tinyllm prepare', a prefix or a .bin" },
  batch: { type: 'number', short: 'b', help: 'micro-batch rows B (default 4)' },
  seq: { type: 'number', short: 't', help: 'sequence length T (default 64)' },
  'total-batch': { type: 'number', help: 'tokens per optimizer step, a multiple of B·T; the rest is gradient accumulation (default B·T)' },
  steps: { type: 'number', help: 'optimizer steps (default 1000)' },
  lr: { type: 'number', help: 'peak learning rate (default 6e-4)' },
  warmup: { type: 'number', help: 'linear warmup steps (default min(100, steps/10))' },
  'final-lr-frac': { type: 'number', help: 'cosine decay ends at this fraction of --lr (default 0.1)' },
  'weight-decay': { type: 'number', help: 'AdamW weight decay on 2-D weights (default 0.1)' },
  'grad-clip': { type: 'number', help: 'global gradient-norm clip, 0 = off (default 1.0)' },
  beta1: { type: 'number', help: 'AdamW β1 (default 0.9)' },
  beta2: { type: 'number', help: "AdamW β2 (default 0.95; llm.c's CPU trainer uses 0.999)" },
  eps: { type: 'number', help: 'AdamW ε (default 1e-8)' },
  'val-every': { type: 'number', help: 'validation loss every N steps, 0 = off (default 100)' },
  'val-batches': { type: 'number', help: 'batches per validation (default 20)' },
  'sample-every': { type: 'number', help: 'print a text sample every N steps, 0 = off (default 200)' },
  'sample-tokens': { type: 'number', help: 'tokens per sample (default 64)' },
  'ckpt-every': { type: 'number', help: 'checkpoint every N steps, 0 = only at the end and on Ctrl-C (default 200)' },
  'log-every': { type: 'number', help: 'progress line every N steps when not on a terminal (default 10)' },
  'stop-at': { type: 'number', help: 'stop (and checkpoint) after this step without changing the schedule; continue later with --resume' },
  tokenizer: { type: 'string', help: "tokenizer for samples: gpt2, a directory/tokenizer.json, or none (default gpt2)" },
  out: { type: 'string', short: 'o', help: 'run directory (default runs/<model>)' },
  resume: { type: 'string', help: 'continue from a checkpoint file or run directory' },
  init: { type: 'string', help: 'start from these weights instead of a random init (the size comes from the file): a tinyllm run/checkpoint, a Hugging Face GPT-2 directory/.safetensors or an llm.c .bin' },
  seed: { type: 'number', help: 'seed for the init, the data order and samples (default 1337)' },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', help: 'threads for the kernels (default: all cores)' },
} satisfies OptionSpecs;

type Opts = ParsedOptions<typeof options>;
/** What modelConfig reads (finetune shares the size flags). */
type SizeOpts = Pick<Opts, (typeof SIZE_FLAGS)[number]>;

/** Flags that set the model size (--init and --resume take it from the file instead). */
export const SIZE_FLAGS = ['model', 'n-layer', 'n-head', 'n-embd', 'block-size', 'vocab-size'] as const;

export function positiveInt(v: number, flag: string, min = 1): number {
  if (!Number.isInteger(v) || v < min) throw new UserError(`--${flag} must be a whole number ≥ ${min}, got ${v}`);
  return v;
}

/** The model size from --model or --n-layer/--n-head/--n-embd (+ --block-size). */
export function modelConfig(o: SizeOpts, vocabSize: number, blockSize?: number): { name: string; config: GPT2Config } {
  const custom = o['n-layer'] !== undefined || o['n-head'] !== undefined || o['n-embd'] !== undefined;
  if (custom && o.model !== undefined) throw new UserError('give either --model or --n-layer/--n-head/--n-embd, not both');
  if (custom) {
    if (o['n-layer'] === undefined || o['n-head'] === undefined || o['n-embd'] === undefined) {
      throw new UserError('a custom size needs all of --n-layer, --n-head and --n-embd');
    }
    const config = {
      nLayer: positiveInt(o['n-layer'], 'n-layer'),
      nHead: positiveInt(o['n-head'], 'n-head'),
      nEmbd: positiveInt(o['n-embd'], 'n-embd'),
      blockSize: positiveInt(o['block-size'] ?? blockSize ?? 256, 'block-size'),
      vocabSize,
    };
    if (config.nEmbd % config.nHead !== 0) throw new UserError(`--n-embd ${config.nEmbd} must be a multiple of --n-head ${config.nHead}`);
    return { name: `custom L${config.nLayer} H${config.nHead} C${config.nEmbd}`, config };
  }
  const name = o.model ?? '30M';
  if (!(name in GPT2_PRESETS)) throw new UserError(`unknown --model '${name}'; choose one of ${presets} or give --n-layer/--n-head/--n-embd`);
  const block = o['block-size'] ?? blockSize;
  const config = presetConfig(name as GPT2PresetName, { vocabSize, ...(block !== undefined ? { blockSize: positiveInt(block, 'block-size') } : {}) });
  validateConfig(config);
  return { name, config };
}

/** Settings for a fresh run from the flags; `init` (from --init) fixes the model instead of the size flags. */
function freshSettings(o: Opts, init?: { name: string; config: GPT2Config }): RunSettings {
  if (!o.data) throw new UserError("--data is required: a directory of token shards (create one with 'tinyllm datasets generate' and 'tinyllm prepare')");
  const tokenizer = o.tokenizer === 'none' ? null : (o.tokenizer ?? 'gpt2');
  const { name, config } = init ?? modelConfig(o, positiveInt(o['vocab-size'] ?? 50257, 'vocab-size'));
  const B = positiveInt(o.batch ?? 4, 'batch');
  const T = positiveInt(o.seq ?? 64, 'seq');
  const steps = positiveInt(o.steps ?? 1000, 'steps');
  return {
    model: name,
    config,
    data: o.data,
    B,
    T,
    totalBatch: positiveInt(o['total-batch'] ?? B * T, 'total-batch'),
    steps,
    lr: o.lr ?? 6e-4,
    warmup: positiveInt(o.warmup ?? Math.min(100, Math.floor(steps / 10)), 'warmup', 0),
    finalLrFrac: o['final-lr-frac'] ?? 0.1,
    weightDecay: o['weight-decay'] ?? 0.1,
    gradClip: o['grad-clip'] ?? 1.0,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.95,
    eps: o.eps ?? 1e-8,
    valEvery: positiveInt(o['val-every'] ?? 100, 'val-every', 0),
    valBatches: positiveInt(o['val-batches'] ?? 20, 'val-batches', 0),
    sampleEvery: positiveInt(o['sample-every'] ?? 200, 'sample-every', 0),
    sampleTokens: positiveInt(o['sample-tokens'] ?? 64, 'sample-tokens'),
    ckptEvery: positiveInt(o['ckpt-every'] ?? 200, 'ckpt-every', 0),
    logEvery: positiveInt(o['log-every'] ?? 10, 'log-every'),
    seed: o.seed ?? 1337,
    tokenizer,
  };
}

/** Settings for --resume: the checkpoint's, with the flags that may change applied and the others checked. */
function resumeSettings(o: Opts, ckpt: string): RunSettings {
  const h = readCheckpointHeader(ckpt);
  const saved = h.run as RunSettings | undefined;
  if (!saved || !h.optimizer) throw new UserError(`checkpoint ${ckpt} holds no training state (weights only); start a fresh run instead of --resume`);
  // flags that define the model, the batches or the data order must match the run
  if (SIZE_FLAGS.some((f) => o[f] !== undefined)) {
    const { config } = modelConfig(o, o['vocab-size'] ?? h.config.vocabSize, h.config.blockSize);
    const diff = configDiff(h.config, config);
    if (diff.length > 0) {
      throw new UserError(`checkpoint ${ckpt} is for a different model (checkpoint vs flags: ${diff.join(', ')}); drop the model flags to continue it, or start fresh with a new --out`);
    }
  }
  const fixed: [keyof Opts, keyof RunSettings][] = [
    ['batch', 'B'],
    ['seq', 'T'],
    ['total-batch', 'totalBatch'],
    ['seed', 'seed'],
  ];
  for (const [flag, key] of fixed) {
    if (o[flag] !== undefined && o[flag] !== saved[key]) {
      throw new UserError(`checkpoint ${ckpt} was trained with --${flag} ${saved[key]}, but --${flag} ${o[flag]} was given; drop --${flag} to continue the run exactly, or start fresh`);
    }
  }
  const s: RunSettings = { ...saved, config: h.config };
  const change = <K extends keyof RunSettings>(key: K, v: RunSettings[K] | undefined) => {
    if (v !== undefined) s[key] = v;
  };
  change('data', o.data);
  change('steps', o.steps);
  change('lr', o.lr);
  change('warmup', o.warmup);
  change('finalLrFrac', o['final-lr-frac']);
  change('weightDecay', o['weight-decay']);
  change('gradClip', o['grad-clip']);
  change('beta1', o.beta1);
  change('beta2', o.beta2);
  change('eps', o.eps);
  change('valEvery', o['val-every']);
  change('valBatches', o['val-batches']);
  change('sampleEvery', o['sample-every']);
  change('sampleTokens', o['sample-tokens']);
  change('ckptEvery', o['ckpt-every']);
  change('logEvery', o['log-every']);
  if (o.tokenizer !== undefined) s.tokenizer = o.tokenizer === 'none' ? null : o.tokenizer;
  return s;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('pretrain', argv, options, { usage: '--data <shards> [--model 30M | --n-layer L --n-head H --n-embd C] [options]', summary });
  if (!parsed) return;
  const o = parsed.options;
  if (o.kernels !== undefined || o.threads !== undefined) {
    const threads = o.threads === undefined ? undefined : positiveInt(o.threads, 'threads');
    setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads });
  }
  const resume = o.resume !== undefined ? checkpointPath(o.resume) : undefined;
  let initWeights: Float32Array | undefined;
  let init: { name: string; config: GPT2Config } | undefined;
  if (o.init !== undefined) {
    if (resume) throw new UserError('--init starts a new run from existing weights and --resume continues a run: give one of them');
    const sizeFlags = SIZE_FLAGS.filter((f) => o[f] !== undefined);
    if (sizeFlags.length > 0) throw new UserError(`--init takes the model size from ${o.init}; drop --${sizeFlags.join(', --')}`);
    const w = loadWeights(o.init);
    initWeights = w.flat;
    const c = w.config;
    init = { name: `${path.basename(path.resolve(o.init))}-L${c.nLayer}-H${c.nHead}-C${c.nEmbd}`, config: c };
  }
  const settings = resume ? resumeSettings(o, resume) : freshSettings(o, init);
  if (resume) {
    const { step } = readCheckpointHeader(resume);
    if (step >= settings.steps) {
      process.stderr.write(`nothing to do: ${resume} is already at step ${step} of ${settings.steps} (give a larger --steps to train further)\n`);
      return;
    }
  }
  const out = o.out ?? (resume ? path.dirname(resume) : `runs/${settings.model.replace(/\s+/g, '-')}`);
  const stopAt = o['stop-at'] === undefined ? undefined : positiveInt(o['stop-at'], 'stop-at');
  await runPretraining(settings, { out, resume, stopAt, initWeights });
}
