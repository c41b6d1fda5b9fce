// `tinyllm finetune`: fine-tune a GPT-2 (any weights loadWeights reads, or a fresh preset/custom size) on
// a task in the Alpaca convention (JSONL/CSV with instruction?, input, output), TinyLLM's template and
// the loss on the answers; validation loss + ranking accuracy, best model kept, early stopping, Ctrl-C
// saves, --resume continues bit-exactly. The loop is src/finetune/run.ts.
import * as path from 'node:path';
import { loadWeights } from '../../export/load.js';
import type { Int8Group } from '../../export/quantize.js';
import { isTllm, readTllmHeader } from '../../export/tllm.js';
import { BASE_GROUPS } from '../../finetune/int8-base.js';
import { BEST_FILE, runFinetune, STATE_FILE, type FinetuneSettings } from '../../finetune/run.js';
import { availableTiers, setKernels } from '../../kernels/index.js';
import { freezeLayers, LORA_DEFAULTS, loraOf, parseLoraTargets, validateMethod, ZO_DEFAULTS, type FinetuneMethod } from '../../finetune/method.js';
import { GPT2_PRESETS, type GPT2Config } from '../../models/gpt2/config.js';
import type { Overflow } from '../../task/encode.js';
import type { SequenceStart } from '../../task/sequence.js';
import { resolveTokenizer } from '../../tokenizer/gpt2.js';
import { loadTemplate } from '../../task/template.js';
import { checkpointPath, readCheckpointHeader } from '../../train/checkpoint.js';
import { UserError } from '../../util/errors.js';
import { parseCommand, type OptionSpecs, type ParsedOptions } from '../args.js';
import { chooseSequenceStart } from './generate.js';
import { CUSTOM_SIZE_OPTIONS, modelConfig, positiveInt, SIZE_FLAGS } from './pretrain.js';

export const summary = 'fine-tune a GPT-2 on a task (Alpaca JSONL/CSV): answer-only loss, validation accuracy, best model, resumable';

const options = {
  from: { type: 'string', help: 'start from these weights: a tinyllm run/checkpoint, a Hugging Face GPT-2 directory/.safetensors or an llm.c .bin' },
  model: { type: 'string', help: `or train from scratch: preset ${Object.keys(GPT2_PRESETS).join(', ')}` },
  'number-init': { type: 'boolean', help: "from scratch: number tokens (' 139', '42') start with embeddings placed by their value (as pretrain --number-init)" },
  'position-init': { type: 'boolean', help: 'from scratch: position embeddings start as sinusoids of the position (as pretrain --position-init)' },
  ...CUSTOM_SIZE_OPTIONS,
  train: { type: 'string', help: 'training examples: .jsonl or .csv with instruction (optional), input, output (or give the file as the argument)' },
  val: { type: 'string', help: 'validation examples (default: --val-fraction of --train, split by seed)' },
  test: { type: 'string', help: 'test examples (default: --test-fraction of --train, split by seed)' },
  'val-fraction': { type: 'number', min: 0, max: 0.99, help: 'share of --train held out for validation when there is no --val', default: 0.1 },
  'test-fraction': { type: 'number', min: 0, max: 0.99, help: 'share of --train held out for test when there is no --test (written to <out>/test.jsonl)', default: 0 },
  'instruction-column': { type: 'string', help: "column/field with the instruction (default 'instruction', optional)" },
  'input-column': { type: 'string', help: "column/field with the input (default 'input', optional)" },
  'output-column': { type: 'string', help: "column/field with the answer (default 'output')" },
  instruction: { type: 'string', help: 'instruction for rows without one (TinyLLM passes one per task)', default: '' },
  template: { type: 'string', help: "prompt template: 'tinyllm' (### Instruction/Input/Response/End) or a template JSON file (docs/finetune.md)", default: 'tinyllm' },
  rescale: { type: 'boolean', help: "write every series in the input (16 or more readings of one channel, along a line or one timestep per line) as whole numbers 0-99 of its own range, in training and wherever the model is used (recorded in the template): the shape of a window, not its level (for gestures and events; not when the level is the answer). In the demo's 6 epochs: TinyLLM's gesture recordings 72.1% -> 94.6%, built-in gesture 79.3% -> 89.3% (docs/finetune.md)", default: false },
  'sequence-start': { type: 'string', help: "what precedes every sequence: 'endoftext' (as prepare's documents) or 'none' (default: what --from records, else endoftext)" },
  'allow-special': { type: 'boolean', help: 'special-token text in the data (e.g. <|endoftext|>) becomes the special token instead of plain text', default: false },
  overflow: { type: 'string', help: "a prompt longer than the context: 'truncate' its input (reported per row) or 'refuse'", default: 'truncate' },
  'train-on-all': { type: 'boolean', help: 'loss on every token (as TinyLLM trains) instead of the answer and end marker only', default: false },
  'prompt-loss': { type: 'number', min: 0, max: 1, help: "share of each prompt's tokens that also carry a loss, drawn afresh each time a row is drawn: the model also learns to predict its inputs' readings, at that share of --train-on-all's extra cost (0 = answer and end marker only, 1 = --train-on-all)", default: 0 },
  'prompt-loss-tokens': { type: 'number', min: 0, integer: true, help: "instead of --prompt-loss: this many of each prompt's tokens (all of a shorter prompt) also carry a loss, the same number per row whatever the prompt's length (for long runs: 20 lifted TinyLLM's real gesture rows (prompts of 480-510 tokens) from 78-96% to 95-97% over three seeds in 40 epochs, and, with --rescale, the built-in gesture rows from 89% to 94-97% in 20 epochs, but cost 23 points in the demo's 6 epochs: docs/finetune.md)" },
  jitter: { type: 'number', min: 0, integer: true, help: 'augment: each time a training row is drawn, every number in its input moves by a random −K..K units of its last digit (139 → 137..141 for 2; sensor readings only: IDs and dates move too)', default: 0 },
  gain: { type: 'number', min: 1, help: "augment: each time a training row is drawn, every series in its input (as --shift finds them) has its readings' deviations from the series' median scaled by a random factor in [1/G, G], one per series: dips and peaks deeper or shallower, the resting level kept (1 = off)", default: 1 },
  shift: { type: 'number', min: 0, integer: true, help: 'augment: each time a training row is drawn, every series in its input (a channel over time: 16 or more numbers along a line, or 16 or more lines of one shape, a timestep each) moves by the same random −K..K readings, the edge reading repeated', default: 0 },
  dropout: { type: 'number', min: 0, max: 0.99, help: "dropout on the embeddings and every block's attention and MLP outputs while training (GPT-2's resid_pdrop/embd_pdrop: 0.1; not with zo)", default: 0 },
  method: { type: 'string', help: "'full' (all weights), 'lora' (low-rank adapters, base frozen), 'top' (with --train-top/--freeze-layers) or 'zo' (zeroth-order, forward passes only)", default: 'full' },
  'zo-eps': { type: 'number', min: 0, max: 1, help: 'zo: perturbation scale ε (loss at θ ± ε·z)', default: ZO_DEFAULTS.eps },
  'zo-n': { type: 'number', min: 1, max: 1024, integer: true, help: 'zo: perturbations averaged per step (two forward passes each)', default: ZO_DEFAULTS.n },
  'zo-lora': { type: 'boolean', help: 'zo: perturb only LoRA adapters (--lora-* flags), base frozen', default: false },
  'lora-r': { type: 'number', min: 1, max: 4096, integer: true, help: 'LoRA rank (TinyLLM: 64)', default: LORA_DEFAULTS.r },
  'lora-alpha': { type: 'number', min: 0, help: 'LoRA scale numerator α (update = α/r·B·A; TinyLLM: 256)', default: LORA_DEFAULTS.alpha },
  'lora-dropout': { type: 'number', min: 0, max: 0.99, help: "dropout on the adapters' input (lora; zo uses none)", default: LORA_DEFAULTS.dropout },
  'lora-targets': { type: 'string', help: 'adapted layers: qkv, attn-proj, fc, mlp-proj (comma-separated) or all', default: 'all' },
  'train-top': { type: 'number', min: 1, max: 256, integer: true, help: 'train only the top N blocks (+ final LayerNorm); implies --method top' },
  'freeze-layers': { type: 'number', min: 0, max: 256, integer: true, help: 'freeze the embeddings and the lowest N blocks; implies --method top' },
  'base-int8': { type: 'boolean', help: 'LoRA over a frozen int8 base: linear weights and the tied embedding held only as int8 + scales (a .tllm --from is used as stored; other weights are quantized with --base-group); implies --recompute', default: false },
  'base-group': { type: 'number', min: 32, max: 64, integer: true, help: 'with --base-int8 from f32 weights: values per int8 scale, 32 or 64', default: 64 },
  recompute: { type: 'boolean', help: 'recompute block activations in backward instead of keeping them (about 1/3 more compute, far less memory)', default: false },
  merge: { type: 'boolean', help: 'LoRA: store the best model with the adapter merged into the weights (the PEFT adapter is written anyway)', default: false },
  'max-tokens-per-pass': { type: 'number', min: 1, integer: true, help: 'split micro-batches into passes of at most this many tokens (less memory, same step)' },
  batch: { type: 'number', min: 1, integer: true, short: 'b', help: 'examples per micro-batch (batches are length-bucketed)', default: 8 },
  'grad-accum': { type: 'number', min: 1, integer: true, help: 'micro-batches per optimizer step', default: 1 },
  epochs: { type: 'number', min: 0.001, help: 'passes over the training examples (sets --steps)', default: 3 },
  steps: { type: 'number', min: 1, integer: true, help: 'optimizer steps (overrides --epochs)' },
  lr: { type: 'number', min: 0, max: 10, help: 'peak learning rate (default 3e-4; 6e-4 for --method lora, as TinyLLM)' },
  warmup: { type: 'number', min: 0, integer: true, help: 'linear warmup steps (default: 5% of the steps)' },
  'final-lr-frac': { type: 'number', min: 0, max: 1, help: 'cosine decay ends at this fraction of --lr', default: 0.1 },
  'weight-decay': { type: 'number', min: 0, help: 'AdamW weight decay on 2-D weights', default: 0.01 },
  'grad-clip': { type: 'number', min: 0, help: 'global gradient-norm clip, 0 = off', default: 1 },
  beta1: { type: 'number', min: 0, max: 0.999999, help: 'AdamW β1', default: 0.9 },
  beta2: { type: 'number', min: 0, max: 0.999999, help: 'AdamW β2', default: 0.999 },
  eps: { type: 'number', min: 0, max: 1, help: 'AdamW ε', default: 1e-8 },
  'val-every': { type: 'number', min: 0, integer: true, help: 'validation every N steps, 0 = only at the end (default: 4 times per epoch)' },
  'val-examples': { type: 'number', min: 0, integer: true, help: 'validation examples used each time, 0 = all', default: 200 },
  'max-labels': { type: 'number', min: 0, integer: true, help: 'ranking accuracy when the training outputs have at most this many distinct labels', default: 100 },
  patience: { type: 'number', min: 0, integer: true, help: 'early stopping: stop after N validations in which neither the accuracy (best model) nor the validation loss improved, 0 = off', default: 4 },
  'ckpt-every': { type: 'number', min: 0, integer: true, help: 'save the training state every N steps, 0 = at the end and on Ctrl-C', default: 100 },
  'log-every': { type: 'number', min: 1, integer: true, help: 'progress line every N steps when not on a terminal', default: 10 },
  'stop-at': { type: 'number', min: 1, integer: true, help: 'stop (and save) after this step without changing the schedule; continue with --resume' },
  tokenizer: { type: 'string', help: "tokenizer: gpt2 or a directory/tokenizer.json (default: the --from run's, else gpt2)" },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'seed for the split, the init and the batch order', default: 1337 },
  out: { type: 'string', short: 'o', help: 'run directory (refused if it exists, unless --resume or --force)', default: 'runs/finetune' },
  resume: { type: 'boolean', help: 'continue the run in --out from its state.ckpt', default: false },
  force: { type: 'boolean', help: 'replace an existing run in --out', default: false },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
} satisfies OptionSpecs;

type Opts = ParsedOptions<typeof options>;

const EPILOG = `Examples:
  tinyllm finetune --from runs/30m --train gesture/train.jsonl --val gesture/val.jsonl --test gesture/test.jsonl --out runs/gesture
  tinyllm finetune --model 30M data.csv --output-column label --test-fraction 0.1 --out runs/task
  tinyllm finetune --from base.tllm --method lora --train gesture/train.jsonl --out runs/gesture-q   # LoRA over an int8 base
  tinyllm finetune --out runs/gesture --resume                 # after Ctrl-C
The run directory holds checkpoint.ckpt (the best model: tinyllm generate/eval/convert --ckpt <out>), ${STATE_FILE}
(for --resume), task.json (tokenizer, template, sequence start, labels), metrics.jsonl and loss.svg.`;

function choice<T extends string>(v: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(v)) throw new UserError(`--${flag} must be ${allowed.join(' or ')}, got '${v}'`);
  return v as T;
}

function fraction(v: number, flag: string): number {
  if (!(v >= 0 && v < 1)) throw new UserError(`--${flag} must be in [0, 1), got ${v}`);
  return v;
}

/** The prompt tokens with a loss, from --train-on-all, --prompt-loss and --prompt-loss-tokens (at most one of them). */
function promptLossOf(o: Opts): { promptLoss: number; promptLossTokens?: number } {
  const share = o['prompt-loss'];
  const tokens = o['prompt-loss-tokens'];
  if (tokens !== undefined && (o['train-on-all'] || share > 0)) throw new UserError(`--prompt-loss-tokens ${tokens} asks for a number of each prompt's tokens; ${o['train-on-all'] ? '--train-on-all puts a loss on all of them' : `--prompt-loss ${share} on a share of them`}: give one of the two`);
  if (o['train-on-all'] && share > 0 && share < 1) throw new UserError(`--train-on-all puts a loss on every prompt token; --prompt-loss ${share} asks for a share of them: give one of the two`);
  return tokens !== undefined ? { promptLoss: 0, promptLossTokens: tokens } : { promptLoss: o['train-on-all'] ? 1 : share };
}

/** The fine-tuning method from --method and its flags. */
function methodOf(o: Opts, config: GPT2Config): FinetuneMethod {
  const loraFlags = () => ({ r: o['lora-r'], alpha: o['lora-alpha'], dropout: o['lora-dropout'], targets: parseLoraTargets(o['lora-targets']) });
  if (o['train-top'] !== undefined && o['freeze-layers'] !== undefined) throw new UserError('give --train-top or --freeze-layers, not both');
  const top = o['train-top'] !== undefined || o['freeze-layers'] !== undefined;
  const kind = choice(top && o.method === 'full' ? 'top' : o.method, ['full', 'lora', 'top', 'zo'] as const, 'method');
  if (top && kind !== 'top') throw new UserError(`--train-top/--freeze-layers choose which blocks train; they do not combine with --method ${kind}`);
  let m: FinetuneMethod;
  if (kind === 'top') {
    if (!top) throw new UserError('--method top needs --train-top N or --freeze-layers N');
    m = o['train-top'] !== undefined ? { kind: 'top', layers: o['train-top'] } : freezeLayers(o['freeze-layers'] as number, config);
  } else if (kind === 'lora') {
    m = { kind: 'lora', lora: loraFlags() };
  } else if (kind === 'zo') {
    // both losses of a perturbation must see the same function: no adapter dropout
    m = { kind: 'zo', zo: { eps: o['zo-eps'], n: o['zo-n'], lora: o['zo-lora'] ? { ...loraFlags(), dropout: 0 } : null } };
  } else m = { kind: 'full' };
  if (o['zo-lora'] && kind !== 'zo') throw new UserError(`--zo-lora applies to --method zo only (use --method lora for LoRA by backpropagation)`);
  validateMethod(m, config);
  if (o.merge && !loraOf(m)) throw new UserError('--merge applies to --method lora (or zo with --zo-lora) only');
  return m;
}

/** The method, checked against an int8 base (which trains adapters only). */
function frozenMethod(m: FinetuneMethod, baseInt8: Int8Group | null): FinetuneMethod {
  if (baseInt8 !== null && !loraOf(m)) throw new UserError(`an int8 base (--base-int8 or a .tllm --from) is frozen: use --method lora, or --method zo --zo-lora (not --method ${m.kind}${m.kind === 'zo' ? ' on all weights' : ''})`);
  return m;
}

/** Settings for a new run (steps, warmup and validation interval default from the training set's size). */
function freshSettings(o: Opts, positional: string | undefined): { settings: FinetuneSettings; initWeights?: Float32Array } {
  const train = o.train ?? positional;
  if (!train) throw new UserError('give the training examples: --train <file.jsonl|file.csv> (or the file as the argument)');
  const sizeFlags = SIZE_FLAGS.filter((f) => o[f] !== undefined);
  let initWeights: Float32Array | undefined;
  let model: { name: string; config: FinetuneSettings['config'] };
  let tokenizer = o.tokenizer ?? 'gpt2';
  let recordedStart: SequenceStart | null = null;
  // a .tllm model is a frozen base as stored (int8 or f32 per tensor); --base-int8 quantizes other weights
  const tllm = o.from !== undefined && isTllm(o.from);
  const baseInt8 = tllm || o['base-int8'] ? (o['base-group'] as Int8Group) : null;
  if (baseInt8 !== null && !BASE_GROUPS.includes(baseInt8)) throw new UserError(`--base-group must be ${BASE_GROUPS.join(' or ')}, got ${baseInt8}`);
  if (o.from !== undefined && tllm) {
    if (sizeFlags.length > 0) throw new UserError(`--from takes the model size from ${o.from}; drop --${sizeFlags.join(', --')}`);
    const h = readTllmHeader(o.from);
    if (o.tokenizer === undefined && !('name' in h.tokenizer)) throw new UserError(`${o.from} embeds its own tokenizer; give it as --tokenizer <dir | tokenizer.json> to fine-tune over this base`);
    const rule = h.finetune?.startRule;
    recordedStart = rule === undefined ? null : ['', 'none'].includes(rule) ? 'none' : 'endoftext';
    model = { name: path.basename(path.resolve(o.from)), config: h.config };
  } else if (o.from !== undefined) {
    if (sizeFlags.length > 0) throw new UserError(`--from takes the model size from ${o.from}; drop --${sizeFlags.join(', --')}`);
    const w = loadWeights(o.from);
    if (baseInt8 === null) initWeights = w.flat; // an int8 base is loaded (and quantized) by the run itself
    recordedStart = w.sequenceStart ?? null;
    model = { name: path.basename(path.resolve(o.from)), config: w.config };
    if (o.tokenizer === undefined && w.format === 'tinyllm') tokenizer = readCheckpointHeader(checkpointPath(o.from)).tokenizer ?? 'gpt2';
  } else {
    if (baseInt8 !== null) throw new UserError('--base-int8 needs the weights to quantize: --from <run | HF dir | .safetensors | .bin | .tllm>');
    if (sizeFlags.length === 0) throw new UserError('give the starting weights with --from <run | HF dir | .safetensors | .bin>, or a size to train from scratch (--model 30M or --n-layer/--n-head/--n-embd)');
    model = modelConfig(o, positiveInt(o['vocab-size'] ?? resolveTokenizer(tokenizer).vocabSize, 'vocab-size'));
  }
  const settings: FinetuneSettings = {
    from: o.from === undefined ? null : baseInt8 !== null ? path.resolve(o.from) : o.from,
    model: model.name,
    config: model.config,
    data: { train, val: o.val ?? null, test: o.test ?? null, split: { val: fraction(o['val-fraction'], 'val-fraction'), test: fraction(o['test-fraction'], 'test-fraction') } },
    task: {
      tokenizer,
      template: o.rescale ? { ...loadTemplate(o.template), series: 'rescale' } : loadTemplate(o.template),
      sequenceStart: chooseSequenceStart(o['sequence-start'], recordedStart),
      allowSpecial: o['allow-special'],
      columns: { instruction: o['instruction-column'], input: o['input-column'], output: o['output-column'] },
      instruction: o.instruction,
      overflow: choice<Overflow>(o.overflow, ['truncate', 'refuse'], 'overflow'),
    },
    trainOnAll: o['train-on-all'],
    ...promptLossOf(o),
    jitter: o.jitter,
    shift: o.shift,
    gain: o.gain,
    dropout: o.dropout,
    method: frozenMethod(methodOf(o, model.config), baseInt8),
    merge: o.merge,
    baseInt8,
    recompute: o.recompute || baseInt8 !== null,
    maxTokensPerPass: o['max-tokens-per-pass'] === undefined ? null : positiveInt(o['max-tokens-per-pass'], 'max-tokens-per-pass'),
    B: positiveInt(o.batch, 'batch'),
    gradAccum: positiveInt(o['grad-accum'], 'grad-accum'),
    epochs: o.epochs,
    steps: o.steps === undefined ? null : positiveInt(o.steps, 'steps'),
    lr: o.lr ?? (o.method === 'lora' ? 6e-4 : 3e-4),
    warmup: o.warmup === undefined ? null : positiveInt(o.warmup, 'warmup', 0),
    finalLrFrac: o['final-lr-frac'],
    weightDecay: o['weight-decay'],
    gradClip: o['grad-clip'],
    beta1: o.beta1,
    beta2: o.beta2,
    eps: o.eps,
    valEvery: o['val-every'] === undefined ? null : positiveInt(o['val-every'], 'val-every', 0),
    valExamples: positiveInt(o['val-examples'], 'val-examples', 0),
    maxLabels: positiveInt(o['max-labels'], 'max-labels', 0),
    patience: positiveInt(o.patience, 'patience', 0),
    ckptEvery: positiveInt(o['ckpt-every'], 'ckpt-every', 0),
    logEvery: positiveInt(o['log-every'], 'log-every'),
    seed: o.seed,
  };
  if (!(o.epochs > 0)) throw new UserError(`--epochs must be > 0, got ${o.epochs}`);
  return { settings, initWeights };
}

/** The settings of a new run from `tinyllm finetune` flags, without running it (bench/finetune-memory.ts). */
export function finetuneSettings(argv: string[]): { settings: FinetuneSettings; initWeights?: Float32Array } {
  const parsed = parseCommand('finetune', argv, options, { usage: '', summary });
  if (!parsed) throw new UserError('finetuneSettings: no settings to build from --help');
  return freshSettings(parsed.options, parsed.positionals[0]);
}

/** Flags --resume may change; any other given flag must be dropped (the run continues exactly). */
const RESUMABLE = ['steps', 'stop-at', 'out', 'resume', 'kernels', 'threads', 'log-every', 'ckpt-every', 'patience'] as const;

function resumeSettings(o: Opts, argv: string[]): FinetuneSettings {
  const state = path.join(o.out, STATE_FILE);
  const h = readCheckpointHeader(state);
  const saved = h.run as unknown as FinetuneSettings | undefined;
  if (!saved?.task) throw new UserError(`${state} is not a fine-tuning state; start a new run`);
  const given = argv.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]);
  const fixed = given.filter((f) => !(RESUMABLE as readonly string[]).includes(f));
  if (fixed.length > 0) throw new UserError(`--resume continues ${o.out} with its own settings; drop --${fixed.join(', --')} (only --${RESUMABLE.filter((f) => f !== 'resume' && f !== 'out').join(', --')} may change)`);
  return {
    ...saved,
    steps: o.steps !== undefined ? positiveInt(o.steps, 'steps') : saved.steps,
    logEvery: o['log-every'] !== undefined && given.includes('log-every') ? positiveInt(o['log-every'], 'log-every') : saved.logEvery,
    ckptEvery: given.includes('ckpt-every') ? positiveInt(o['ckpt-every'], 'ckpt-every', 0) : saved.ckptEvery,
    patience: given.includes('patience') ? positiveInt(o.patience, 'patience', 0) : saved.patience,
  };
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('finetune', argv, options, { usage: '(--from <weights> | --model <preset>) --train <file> [--val <file>] [--test <file>] [options]', summary, epilog: EPILOG });
  if (!parsed) return;
  const o = parsed.options;
  if (parsed.positionals.length > 1) throw new UserError(`one training file at most as the argument, got ${parsed.positionals.join(' ')}`);
  if (o.kernels !== undefined || o.threads !== undefined) {
    setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads: o.threads === undefined ? undefined : positiveInt(o.threads, 'threads') });
  }
  const stopAt = o['stop-at'] === undefined ? undefined : positiveInt(o['stop-at'], 'stop-at');
  if (o.resume) {
    for (const flag of ['number-init', 'position-init'] as const) {
      if (o[flag]) throw new UserError(`--${flag} sets up a fresh init; a resumed run keeps its weights: drop it`);
    }
    const settings = resumeSettings(o, argv);
    const { step } = readCheckpointHeader(path.join(o.out, STATE_FILE));
    if (settings.steps !== null && step >= settings.steps) {
      process.stderr.write(`nothing to do: ${o.out} is already at step ${step} of ${settings.steps} (give a larger --steps to train further); the best model is ${path.join(o.out, BEST_FILE)}\n`);
      return;
    }
    await runFinetune(settings, { out: o.out, resume: true, stopAt });
    return;
  }
  const { settings, initWeights } = freshSettings(o, parsed.positionals[0]);
  await runFinetune(settings, { out: o.out, force: o.force, stopAt, initWeights, numberInit: o['number-init'], positionInit: o['position-init'] });
}
