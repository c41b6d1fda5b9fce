// `tinyllm pretrain`: pre-train a GPT-2 (a preset or a custom size) on token shards, with gradient
// accumulation, AdamW + warmup/cosine schedule, validation, samples, metrics, a loss-curve SVG and
// resumable atomic checkpoints. The loop itself is src/train/run.ts.
import * as path from 'node:path';
import { availableTiers, setKernels } from '../../kernels/index.js';
import { GPT2_PRESETS, presetConfig, validateConfig, type GPT2Config, type GPT2PresetName } from '../../models/gpt2/config.js';
import { datasetOfShards, datasetTokenizer } from '../../data/mix.js';
import { resolveShards } from '../../data/loader.js';
import { contextWarning, DEFAULT_SEQ } from '../../data/prepare.js';
import { checkpointPath, configDiff, readCheckpointHeader } from '../../train/checkpoint.js';
import { RUN_MARKERS, runPretraining, type RunSettings } from '../../train/run.js';
import { loadWeights } from '../../export/load.js';
import { tokenizerSpec } from '../../tokenizer/index.js';
import { UserError } from '../../util/errors.js';
import { Interrupted } from '../../util/interrupt.js';
import { checkOutDir } from '../../util/outdir.js';
import { parseCommand, type OptionSpecs, type ParsedOptions } from '../args.js';

export const summary = 'pre-train a GPT-2 on token shards (resumable checkpoints, metrics, loss curve)';

const presets = Object.keys(GPT2_PRESETS).join(', ');
/** The custom-size flags (shared with finetune, which trains from scratch with them). */
export const CUSTOM_SIZE_OPTIONS = {
  'n-layer': { type: 'number', min: 1, max: 256, integer: true, help: 'custom size: transformer blocks' },
  'n-head': { type: 'number', min: 1, max: 256, integer: true, help: 'custom size: attention heads' },
  'n-embd': { type: 'number', min: 1, max: 16384, integer: true, help: 'custom size: embedding width (a multiple of --n-head)' },
  'block-size': { type: 'number', min: 1, max: 65536, integer: true, help: 'context length (default 1024 for presets, 256 for custom sizes)' },
  'vocab-size': { type: 'number', min: 2, max: 1048576, integer: true, help: "vocabulary size (default: the tokenizer's, 50257 for gpt2)" },
} satisfies OptionSpecs;

const options = {
  model: { type: 'string', help: `preset: ${presets} (default 30M unless --n-layer/--n-head/--n-embd are given)` },
  ...CUSTOM_SIZE_OPTIONS,
  data: { type: 'string', help: "token shards: a directory with *_train_NNNNNN.bin (and *_val_*) from 'tinyllm prepare', a prefix or a .bin" },
  batch: { type: 'number', min: 1, integer: true, short: 'b', help: 'micro-batch rows B (default 4)' },
  seq: { type: 'number', min: 1, integer: true, short: 't', help: 'sequence length T (default 64; warns when the data\'s documents are longer)' },
  'total-batch': { type: 'number', min: 1, integer: true, help: 'tokens per optimizer step, a multiple of B·T; the rest is gradient accumulation (default B·T)' },
  steps: { type: 'number', min: 1, integer: true, help: 'optimizer steps (default 1000)' },
  lr: { type: 'number', min: 0, max: 10, help: 'peak learning rate (default 6e-4)' },
  warmup: { type: 'number', min: 0, integer: true, help: 'linear warmup steps (default min(100, steps/10))' },
  'final-lr-frac': { type: 'number', min: 0, max: 1, help: 'cosine decay ends at this fraction of --lr (default 0.1)' },
  'weight-decay': { type: 'number', min: 0, help: 'AdamW weight decay on 2-D weights (default 0.1)' },
  'grad-clip': { type: 'number', min: 0, help: 'global gradient-norm clip, 0 = off (default 1.0)' },
  dropout: { type: 'number', min: 0, max: 0.99, help: "dropout on the embeddings and every block's attention and MLP outputs (GPT-2's resid_pdrop/embd_pdrop; for many epochs over little data; default 0)" },
  beta1: { type: 'number', min: 0, max: 0.999999, help: 'AdamW β1 (default 0.9)' },
  beta2: { type: 'number', min: 0, max: 0.999999, help: "AdamW β2 (default 0.95; llm.c's CPU trainer uses 0.999)" },
  eps: { type: 'number', min: 0, max: 1, help: 'AdamW ε (default 1e-8)' },
  'val-every': { type: 'number', min: 0, integer: true, help: 'validation loss every N steps, 0 = off (default 100)' },
  'val-batches': { type: 'number', min: 0, integer: true, help: 'batches per validation (default 20)' },
  'sample-every': { type: 'number', min: 0, integer: true, help: 'print a text sample every N steps, 0 = off (default 200)' },
  'sample-tokens': { type: 'number', min: 1, integer: true, help: 'tokens per sample (default 64)' },
  'ckpt-every': { type: 'number', min: 0, integer: true, help: 'checkpoint every N steps, 0 = only at the end and on Ctrl-C (default 200)' },
  'log-every': { type: 'number', min: 1, integer: true, help: 'progress line every N steps when not on a terminal (default 10)' },
  'stop-at': { type: 'number', min: 1, integer: true, help: 'stop (and checkpoint) after this step without changing the schedule; continue later with --resume' },
  tokenizer: { type: 'string', help: "tokenizer for samples: gpt2, a directory/tokenizer.json, or none (default: the one the data was prepared with, else gpt2)" },
  out: { type: 'string', short: 'o', help: 'run directory (default runs/<model>); a directory holding a run needs --resume or --force' },
  force: { type: 'boolean', help: 'start over in an --out directory that already holds a run, replacing it' },
  resume: { type: 'string', help: 'continue from a checkpoint file or run directory' },
  'number-init': { type: 'boolean', help: "a fresh init whose number tokens (' 139', '42') start with embeddings placed by their value, so readings' magnitudes are there from step 1 (for sensor logs; not with --init)" },
  'position-init': { type: 'boolean', help: 'a fresh init whose position embeddings start as sinusoids of the position (as the original Transformer), so attending k readings back is the same map at every position from step 1 (not with --init)' },
  init: { type: 'string', help: 'start from these weights instead of a random init (the size comes from the file): a tinyllm run/checkpoint, a Hugging Face GPT-2 directory/.safetensors or an llm.c .bin' },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'seed for the init, the data order and samples (default 1337)' },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
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
      nLayer: o['n-layer'],
      nHead: o['n-head'],
      nEmbd: o['n-embd'],
      blockSize: o['block-size'] ?? blockSize ?? 256,
      vocabSize,
    };
    if (config.nEmbd % config.nHead !== 0) throw new UserError(`--n-embd ${config.nEmbd} must be a multiple of --n-head ${config.nHead}`);
    return { name: `custom L${config.nLayer} H${config.nHead} C${config.nEmbd}`, config };
  }
  const name = o.model ?? '30M';
  if (!(name in GPT2_PRESETS)) throw new UserError(`unknown --model '${name}'; choose one of ${presets} or give --n-layer/--n-head/--n-embd`);
  const block = o['block-size'] ?? blockSize;
  const config = presetConfig(name as GPT2PresetName, { vocabSize, ...(block !== undefined ? { blockSize: block } : {}) });
  validateConfig(config);
  return { name, config };
}

/** Settings for a fresh run from the flags; `init` (from --init) fixes the model instead of the size flags. */
function freshSettings(o: Opts, init?: { name: string; config: GPT2Config }): RunSettings {
  if (!o.data) throw new UserError("--data is required: a directory of token shards (create one with 'tinyllm datasets generate' and 'tinyllm prepare')");
  // the tokenizer and vocabulary the data was prepared with (its manifest), unless the shards have none
  const ds = datasetOfShards(o.data);
  let tokenizer = o.tokenizer === 'none' ? null : tokenizerSpec(o.tokenizer ?? 'gpt2');
  if (ds && o.tokenizer !== 'none') tokenizer = datasetTokenizer(ds, o.tokenizer).spec;
  const dataVocab = ds?.manifest.tokenizer.vocabSize;
  if (dataVocab !== undefined && o['vocab-size'] !== undefined && o['vocab-size'] < dataVocab) {
    throw new UserError(`--vocab-size ${o['vocab-size']} is smaller than the ${dataVocab} tokens of the tokenizer ${ds?.manifest.tokenizer.name} the data was prepared with; drop --vocab-size`);
  }
  const { name, config } = init ?? modelConfig(o, o['vocab-size'] ?? dataVocab ?? 50257);
  const B = o.batch ?? 4;
  const T = o.seq ?? DEFAULT_SEQ;
  const steps = o.steps ?? 1000;
  return {
    model: name,
    config,
    data: path.resolve(o.data),
    B,
    T,
    totalBatch: o['total-batch'] ?? B * T,
    steps,
    lr: o.lr ?? 6e-4,
    warmup: o.warmup ?? Math.min(100, Math.floor(steps / 10)),
    finalLrFrac: o['final-lr-frac'] ?? 0.1,
    weightDecay: o['weight-decay'] ?? 0.1,
    gradClip: o['grad-clip'] ?? 1.0,
    dropout: o.dropout ?? 0,
    beta1: o.beta1 ?? 0.9,
    beta2: o.beta2 ?? 0.95,
    eps: o.eps ?? 1e-8,
    valEvery: o['val-every'] ?? 100,
    valBatches: o['val-batches'] ?? 20,
    sampleEvery: o['sample-every'] ?? 200,
    sampleTokens: o['sample-tokens'] ?? 64,
    ckptEvery: o['ckpt-every'] ?? 200,
    logEvery: o['log-every'] ?? 10,
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
  change('data', o.data === undefined ? undefined : path.resolve(o.data));
  // the data path is stored resolved; older checkpoints stored it as given, relative to where the run started
  s.data = path.resolve(s.data);
  if (o.data === undefined) {
    try {
      resolveShards(s.data);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      throw new UserError(`the run's training data is not at ${s.data} (the path saved in ${ckpt}): ${e.message}; if the shards moved, give --data <their new place>`);
    }
  }
  change('steps', o.steps);
  change('lr', o.lr);
  change('warmup', o.warmup);
  change('finalLrFrac', o['final-lr-frac']);
  change('weightDecay', o['weight-decay']);
  change('gradClip', o['grad-clip']);
  change('dropout', o.dropout);
  change('beta1', o.beta1);
  change('beta2', o.beta2);
  change('eps', o.eps);
  change('valEvery', o['val-every']);
  change('valBatches', o['val-batches']);
  change('sampleEvery', o['sample-every']);
  change('sampleTokens', o['sample-tokens']);
  change('ckptEvery', o['ckpt-every']);
  change('logEvery', o['log-every']);
  if (o.tokenizer !== undefined) s.tokenizer = o.tokenizer === 'none' ? null : tokenizerSpec(o.tokenizer);
  return s;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('pretrain', argv, options, { usage: '--data <shards> [--model 30M | --n-layer L --n-head H --n-embd C] [options]', summary });
  if (!parsed) return;
  const o = parsed.options;
  if (o.kernels !== undefined || o.threads !== undefined) {
    const threads = o.threads === undefined ? undefined : o.threads;
    setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads });
  }
  const resume = o.resume !== undefined ? checkpointPath(o.resume) : undefined;
  let initWeights: Float32Array | undefined;
  let init: { name: string; config: GPT2Config } | undefined;
  for (const flag of ['number-init', 'position-init'] as const) {
    if (resume && o[flag]) throw new UserError(`--${flag} sets up a fresh init; a resumed run keeps its weights: drop it`);
    if (o.init !== undefined && o[flag]) throw new UserError(`--${flag} sets up a random init: it does not go with --init`);
  }
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
  // a fresh run never replaces another run's checkpoint without --force; --resume continues its own directory
  const own = resume !== undefined && path.resolve(out) === path.resolve(path.dirname(resume));
  checkOutDir(out, { markers: own ? [] : RUN_MARKERS, force: o.force, resumeHint: `--resume ${out}` });
  const ds = datasetOfShards(settings.data);
  const warning = ds && contextWarning(ds.manifest, settings.T);
  if (warning) process.stderr.write(`${warning}\n`);
  const r = await runPretraining(settings, { out, resume, stopAt: o['stop-at'], initWeights, numberInit: o['number-init'], positionInit: o['position-init'] });
  if (r.interrupted) throw new Interrupted(`stopped at step ${r.step} of ${settings.steps}; continue with: tinyllm pretrain --resume ${out}`);
}
