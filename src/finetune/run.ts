// A whole fine-tuning run as `tinyllm finetune` drives it: task files → encoded examples → length-bucketed
// batches → optimizer steps with the loss on the answers, validation loss and ranking accuracy every N
// steps, the best model kept, early stopping, Ctrl-C saving, and bit-exact resumption. The run directory:
//   checkpoint.ckpt  the best model so far (weights, + LoRA adapter merged on load: generate/eval/convert use it)
//   state.ckpt       the latest training state (weights, trainable-set moments, adapter, batch position) for --resume
//   adapter/         LoRA only: the best adapter in the PEFT layout (tinyllm merge, or PEFT, apply it)
//   task.json        tokenizer, template, sequence start and label set (src/task/info.ts)
//   config.json, metrics.jsonl, loss.svg, and the test split (test.jsonl) when one file was split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { detectKind } from '../eval/evaluate.js';
import { rankingAccuracy } from '../eval/rank.js';
import { KVDecoder } from '../models/gpt2/decode.js';
import type { Kernels } from '../kernels/types.js';
import { numParams, type GPT2Config } from '../models/gpt2/config.js';
import { GPT2 } from '../models/gpt2/model.js';
import { applyNumberInit } from '../models/gpt2/number-init.js';
import { applyPositionInit } from '../models/gpt2/position-init.js';
import { getKernels } from '../kernels/index.js';
import { BucketedBatches, packBatch, sortedBatches, type Batch, type BatchState, type PackedBatch } from '../task/batch.js';
import { describeCuts, describePromptLoss, encodeExample, encodeTask, fitPrompt, labelCandidates, promptLossCount, type EncodedExample, type EncodedTask, type PromptLoss, type PromptOptions } from '../task/encode.js';
import { augmentedExample, movesSeries, type Augmentation } from '../task/augment.js';
import { sameTokenCount } from '../task/jitter.js';
import { hasSeries, SERIES_WORDS } from '../task/series.js';
import { TASK_FILE, writeTaskInfo, type TaskInfo } from '../task/info.js';
import { commonInstruction, labelSet, readTaskFile, splitExamples, type TaskExample } from '../task/read.js';
import { resolveTokenizer } from '../tokenizer/gpt2.js';
import { loadCheckpoint, loadCheckpointWeights, saveCheckpoint } from '../train/checkpoint.js';
import { MetricsLog } from '../train/metrics.js';
import { writeLossCurve } from '../train/run.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { Interrupted, onInterrupt } from '../util/interrupt.js';
import { checkOutDir } from '../util/outdir.js';
import { deriveSeed, Rng } from '../util/rng.js';
import { formatDuration, Progress } from '../util/progress.js';
import { Finetuner } from './finetuner.js';
import { loadInt8Base } from './int8-base.js';
import type { Int8Group } from '../export/quantize.js';
import { mergeLora } from './merge.js';
import { describeMethod, type FinetuneMethod } from './method.js';
import { savePeftAdapter } from './peft.js';
import { loadFinetuneState, saveFinetuneState } from './state.js';

export const BEST_FILE = 'checkpoint.ckpt';
export const STATE_FILE = 'state.ckpt';
export const ADAPTER_DIR = 'adapter';
/** deriveSeed's salt for the generators of --jitter, --shift and --gain. */
const AUGMENT_SALT = 0x6a177e42;
const PROMPT_LOSS_SALT = 0x5e1f5a3d;

/** Where the examples come from: separate files, or one file split by seed. */
export interface FinetuneData {
  train: string;
  val: string | null;
  test: string | null;
  /** Fractions for a seeded split of `train` (used for the parts without their own file). */
  split: { val: number; test: number };
}

/** Everything that defines a run; saved in config.json and state.ckpt (JSON-serializable). */
export interface FinetuneSettings {
  /** Weights the run starts from (any format loadWeights reads), or null for a fresh init. */
  from: string | null;
  /** Preset name, custom size or the source's name. */
  model: string;
  config: GPT2Config;
  data: FinetuneData;
  task: Omit<TaskInfo, 'labels' | 'contextLength' | 'requestInstruction'>;
  /** Loss on every token (TinyLLM's trainer) instead of the answer only. */
  trainOnAll: boolean;
  /** Share of each drawn training row's prompt tokens that also carry a loss (task/encode.ts PromptLoss); 0 or absent = none, 1 = trainOnAll. */
  promptLoss?: number;
  /** Instead of promptLoss: this many prompt tokens of each drawn training row (all of a shorter prompt); absent = use promptLoss. */
  promptLossTokens?: number;
  /** Each drawn training row's input numbers move by up to this many units of their last digit (task/jitter.ts); 0 or absent = off. */
  jitter?: number;
  /** Each drawn training row's series of readings move by up to this many places (task/shift.ts); 0 or absent = off. */
  shift?: number;
  /** Each drawn training row's series have their deviations from their median scaled by a factor in [1/gain, gain] (task/gain.ts); ≤ 1 or absent = off. */
  gain?: number;
  /** Dropout of the embeddings and every block's residual branches while training (GPT-2's resid_pdrop); 0 or absent = off. */
  dropout?: number;
  /** full, top-N blocks or LoRA (src/finetune/method.ts). */
  method: FinetuneMethod;
  /** At the end, store the best model with LoRA merged into the weights (and still write the PEFT adapter). */
  merge: boolean;
  /**
   * LoRA over a frozen int8 base (int8-base.ts): `from` is a .tllm file used as stored, or f32 weights quantized in
   * groups of this many values; null (or absent, in older runs) = the f32 base.
   */
  baseInt8?: Int8Group | null;
  /** Recompute block activations in backward (less memory). */
  recompute?: boolean;
  /** Rows × T per forward/backward pass at most (bounds activation memory; null = the whole micro-batch). */
  maxTokensPerPass: number | null;
  /** Examples per micro-batch, micro-batches per optimizer step. */
  B: number;
  gradAccum: number;
  /** Passes over the training examples, when steps is null. */
  epochs: number;
  /** Optimizer steps (null: from epochs). */
  steps: number | null;
  lr: number;
  /** Warmup steps (null: 5% of the steps). */
  warmup: number | null;
  finalLrFrac: number;
  weightDecay: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Validate every N steps (and at the end); 0 = only at the end; null = 4 times per epoch. */
  valEvery: number | null;
  /** Validation examples used (0 = all). */
  valExamples: number;
  /** Ranking accuracy needs a closed label set of at most this many labels (else loss only). */
  maxLabels: number;
  /** Stop after this many validations without improvement (0 = never). */
  patience: number;
  ckptEvery: number;
  logEvery: number;
  seed: number;
}

export interface FinetuneOptions {
  out: string;
  /** Continue from <out>/state.ckpt. */
  resume?: boolean;
  /** Replace an existing run directory. */
  force?: boolean;
  /** Stop (and save) once this many steps are done, without changing the schedule. */
  stopAt?: number;
  stream?: NodeJS.WriteStream;
  live?: boolean;
  kernels?: Kernels;
  /** Weights to start from (paramSpecs order), when settings.from is set. */
  initWeights?: Float32Array;
  /** A model trained from scratch starts with its number tokens' embeddings placed by value (models/gpt2/number-init.ts). */
  numberInit?: boolean;
  /** A model trained from scratch starts with sinusoidal position embeddings (models/gpt2/position-init.ts). */
  positionInit?: boolean;
  onStep?: (s: { step: number; loss: number }) => void;
}

export interface ValResult {
  step: number;
  loss: number;
  /** Ranking accuracy over the label set, or null without a closed label set. */
  accuracy: number | null;
}

export interface FinetuneResult {
  step: number;
  best: ValResult | null;
  last: ValResult | null;
  /** Ranking accuracy of the best model on the test split, when there is one. */
  test: { accuracy: number | null; loss: number; examples: number } | null;
  labels: string[];
  /** Parameters the method trains. */
  trainable: number;
  stoppedEarly: boolean;
  interrupted: boolean;
  seconds: number;
}

/** Training progress beyond the optimizer: what --resume restores besides weights and moments. */
interface RunState {
  batches: BatchState;
  best: ValResult | null;
  /** Validations since the best model or the lowest validation loss last improved. */
  stale: number;
  /** Lowest validation loss so far (absent in states saved before it was kept: then the best model's). */
  minLoss?: number;
}

/** A validation as the run's last line names the best model: its step, accuracy and loss. */
export function describeVal(v: ValResult | null): string {
  if (v === null) return 'no validation';
  return `step ${v.step}: validation${v.accuracy !== null ? ` accuracy ${(100 * v.accuracy).toFixed(1)}%,` : ''} loss ${v.loss.toFixed(4)}`;
}

/** The best model: higher ranking accuracy, or at equal (or no) accuracy the lower validation loss. */
export function betterVal(a: ValResult, b: ValResult | null): boolean {
  return b === null || (a.accuracy !== null && b.accuracy !== null && a.accuracy !== b.accuracy ? a.accuracy > b.accuracy : a.loss < b.loss);
}

/**
 * Books one validation into the run's state: whether it is the new best model, and the count of validations
 * without progress that early stopping reads. Progress is a better model or a lower validation loss: on a few
 * dozen validation rows, accuracy often sits at chance for the first epochs while the loss keeps falling, and
 * stopping then would keep an untrained model.
 */
export function bookValidation(state: { best: ValResult | null; stale: number; minLoss?: number }, r: ValResult): boolean {
  const improved = betterVal(r, state.best);
  const minLoss = state.minLoss ?? state.best?.loss ?? Infinity;
  const lossFell = r.loss < minLoss;
  if (lossFell) state.minLoss = r.loss;
  if (improved) state.best = r;
  state.stale = improved || lossFell ? 0 : state.stale + 1;
  return improved;
}

interface Splits {
  train: TaskExample[];
  val: TaskExample[];
  test: TaskExample[];
}

/** Reads the task files (or splits one) as the settings say. */
export async function loadSplits(s: FinetuneSettings): Promise<Splits> {
  const read = (f: string) => readTaskFile(f, { columns: s.task.columns, instruction: s.task.instruction });
  const all = await read(s.data.train);
  const need = { val: s.data.val === null ? s.data.split.val : 0, test: s.data.test === null ? s.data.split.test : 0 };
  const parts = need.val > 0 || need.test > 0 ? splitExamples(all, need, s.seed) : { train: all, val: [], test: [] };
  return {
    train: parts.train,
    val: s.data.val !== null ? await read(s.data.val) : parts.val,
    test: s.data.test !== null ? await read(s.data.test) : parts.test,
  };
}

/** Alpaca JSONL of examples (the held-out split of a run, for tinyllm eval). */
function writeJsonl(file: string, examples: readonly TaskExample[]): void {
  writeFileAtomic(file, examples.map(({ instruction, input, output }) => JSON.stringify({ instruction, input, output })).join('\n') + '\n');
}

/** The shared output-folder rule (util/outdir.ts): an existing run is continued with --resume or replaced with --force. */
function prepareOutDir(out: string, o: FinetuneOptions): void {
  if (o.resume) {
    if (!fs.existsSync(path.join(out, STATE_FILE))) throw new UserError(`--resume: ${out} holds no fine-tuning state (${STATE_FILE}); start a new run without --resume`);
    return;
  }
  const outputs = [BEST_FILE, STATE_FILE, TASK_FILE, ADAPTER_DIR, 'metrics.jsonl', 'config.json', 'loss.svg', 'test.jsonl'];
  checkOutDir(out, { markers: outputs, force: o.force, resumeHint: `tinyllm finetune --out ${out} --resume` });
  for (const f of outputs) fs.rmSync(path.join(out, f), { force: true, recursive: true });
  fs.mkdirSync(out, { recursive: true });
}

/** The settings with steps, warmup and validation interval resolved for a training set of n examples. */
export function resolveSchedule(s: FinetuneSettings, n: number): FinetuneSettings & { steps: number; warmup: number; valEvery: number } {
  const stepsPerEpoch = Math.max(1, Math.ceil(Math.ceil(n / s.B) / s.gradAccum));
  const steps = s.steps ?? Math.max(1, Math.ceil(s.epochs * stepsPerEpoch));
  return { ...s, steps, warmup: s.warmup ?? Math.floor(steps / 20), valEvery: s.valEvery ?? Math.max(1, Math.round(stepsPerEpoch / 4)) };
}

export async function runFinetune(settings: FinetuneSettings, o: FinetuneOptions): Promise<FinetuneResult> {
  const t0 = performance.now();
  const stream = o.stream ?? process.stderr;
  const live = o.live ?? (Boolean(stream.isTTY) && !process.env.CI);
  const say = (msg: string) => stream.write(`${msg}\n`);
  const inits = [o.numberInit && '--number-init', o.positionInit && '--position-init'].filter(Boolean).join(' and ');
  if (inits && settings.from !== null) throw new UserError(`${inits} set${inits.includes(' and ') ? '' : 's'} up a random init for a model trained from scratch (--model or a custom size), not for --from weights`);
  prepareOutDir(o.out, o);

  const tok = resolveTokenizer(settings.task.tokenizer);
  if (tok.vocabSize > settings.config.vocabSize) throw new UserError(`the tokenizer has ${tok.vocabSize} tokens but the model only ${settings.config.vocabSize}; give the --tokenizer the model was trained with`);
  const splits = await loadSplits(settings);
  const s = resolveSchedule(settings, splits.train.length);
  const labels = labelSet(splits.train);
  const aug: Augmentation = { jitter: s.jitter ?? 0, shift: s.shift ?? 0, gain: s.gain ?? 1, keep: sameTokenCount(tok) };
  const rescale = settings.task.template.series === 'rescale';
  const seriesFlags = [aug.shift ? `--shift ${aug.shift}` : '', aug.gain > 1 ? `--gain ${aug.gain}` : '', rescale ? '--rescale' : ''].filter(Boolean);
  if (seriesFlags.length > 0 && !splits.train.some((r) => hasSeries(r.input))) {
    const augments = aug.shift > 0 || aug.gain > 1; // --jitter moves single numbers too; --rescale has no such stand-in
    throw new UserError(`${seriesFlags.join(' and ')}: no training row of ${s.data.train} has a series to change (${SERIES_WORDS}); leave ${seriesFlags.length > 1 ? 'them' : 'it'} out${augments ? ', or use --jitter' : ''}`);
  }
  const prompt: PromptOptions = { template: s.task.template, start: s.task.sequenceStart, contextLength: s.config.blockSize, overflow: s.task.overflow, allowSpecial: s.task.allowSpecial };
  const encode = (name: string, rows: TaskExample[]): EncodedTask => {
    const t = encodeTask(tok, rows, prompt);
    for (const line of describeCuts(name, t, s.config.blockSize)) say(line);
    return t;
  };
  const train = encode('train', splits.train);
  const valRows = s.valExamples > 0 ? splits.val.slice(0, s.valExamples) : splits.val;
  const val = encode('val', valRows);
  // a numeric task (answers are numbers, as `tinyllm eval` detects it: a breathing rate) has no label set to rank
  const numeric = detectKind(splits.train) === 'numeric';
  const closedSet = !numeric && labels.length <= s.maxLabels;

  const base = s.baseInt8 != null ? loadInt8Base(s.from as string, s.baseInt8, o.kernels) : null;
  const model = base?.model ?? new GPT2(s.config, { seed: o.initWeights ? null : s.seed, kernels: o.kernels });
  if (o.initWeights && !base) model.params.data.set(o.initWeights);
  if (o.numberInit && !o.resume) {
    say(`number init: the embeddings of ${applyNumberInit(model, tok, s.seed)} number tokens start placed by their value`);
  }
  if (o.positionInit && !o.resume) {
    applyPositionInit(model);
    say('position init: the position embeddings start as sinusoids of the position');
  }
  const schedule = { lr: s.lr, warmup: s.warmup, steps: s.steps, finalLrFrac: s.finalLrFrac };
  const ft = new Finetuner(model, {
    method: s.method,
    schedule,
    gradClip: s.gradClip,
    adamw: { beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay },
    seed: s.seed,
    maxTokensPerPass: s.maxTokensPerPass ?? undefined,
    recompute: s.recompute ?? false,
    dropout: s.dropout ?? 0,
  });
  // all activation memory for the largest batch, first (the arena does not reuse memory)
  const sets = [train, val];
  const longest = Math.max(...sets.map((t) => t.maxLength)) - 1;
  const answerRows = Math.max(...sets.flatMap((t) => t.examples.map((e) => e.ids.length - e.promptLength)));
  const promptLoss: PromptLoss = s.trainOnAll ? { share: 1 } : { share: s.promptLoss ?? 0, tokens: s.promptLossTokens };
  const promptPicks = promptLossCount(promptLoss, longest);
  ft.reserve(s.B, longest, s.B * Math.min(longest, answerRows + promptPicks));
  const batches = new BucketedBatches(train.examples.map((e) => e.ids.length), { B: s.B, seed: s.seed });
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  let state: RunState = { batches: batches.getState(), best: null, stale: 0 };
  if (o.resume) {
    const h = loadFinetuneState(path.join(o.out, STATE_FILE), ft);
    state = h.data as RunState;
    batches.setState(state.batches);
    metrics.truncateAfter(ft.step);
    say(`resumed from ${path.join(o.out, STATE_FILE)} at step ${ft.step}`);
  } else {
    metrics.truncateAfter(0);
    const held = s.data.test === null && splits.test.length > 0;
    if (held) writeJsonl(path.join(o.out, 'test.jsonl'), splits.test);
  }
  const info: TaskInfo = { ...s.task, labels: numeric ? [] : labels, contextLength: s.config.blockSize, requestInstruction: commonInstruction(splits.train) };
  writeTaskInfo(o.out, info);
  writeFileAtomic(path.join(o.out, 'config.json'), `${JSON.stringify({ ...s, numParams: numParams(s.config) }, null, 2)}\n`);

  const baseNote = base ? ` | frozen int8 base ${(base.frozenBytes / 2 ** 20).toFixed(1)} MiB` : '';
  say(`model ${s.model}: ${numParams(s.config).toLocaleString('en-US')} parameters (L=${s.config.nLayer} H=${s.config.nHead} C=${s.config.nEmbd} ctx=${s.config.blockSize})${s.from ? ` from ${s.from}` : ', fresh init'}${baseNote} | ${describeMethod(s.method)} fine-tuning, ${ft.numTrainable.toLocaleString('en-US')} trainable | kernels ${model.kernels.name} × ${model.kernels.threads} threads`);
  say(`data: ${train.examples.length} train / ${splits.val.length} val${valRows.length < splits.val.length ? ` (${valRows.length} used)` : ''} / ${splits.test.length} test examples | longest ${train.maxLength} tokens | ${numeric ? 'numeric answers (validation by loss only)' : `${labels.length} labels${closedSet ? '' : ` (more than ${s.maxLabels}: validation by loss only)`}`}`);
  say(`batch ${s.B} × ${s.gradAccum} accumulation | ${batches.batchesPerEpoch} batches/epoch | ${s.steps} steps ≈ ${((s.steps * s.gradAccum) / batches.batchesPerEpoch).toFixed(1)} epochs | loss on ${describePromptLoss(promptLoss)}${aug.jitter ? ` | input numbers jittered by up to ±${aug.jitter} in their last digit` : ''}${aug.shift ? ` | input series shifted by up to ±${aug.shift} readings` : ''}${aug.gain > 1 ? ` | input series scaled about their median by ×1/${aug.gain}..×${aug.gain}` : ''}${s.dropout ? ` | dropout ${s.dropout}` : ''}${rescale ? ' | input series written 0..99 of their range' : ''} | run dir ${o.out}`);

  const pad = tok.eotToken;
  const micro: (PackedBatch | undefined)[] = new Array(s.gradAccum);
  // --shift, --gain and --jitter: the drawn rows augmented and encoded again (task/augment.ts), from a generator seeded by the
  // run seed, step and micro-batch (so --resume repeats it); rows keep within the planned memory.
  const drawn = (batch: Batch, i: number): { examples: readonly EncodedExample[]; batch: Batch } => {
    if (!aug.jitter && !movesSeries(aug)) return { examples: train.examples, batch };
    const rng = new Rng(deriveSeed(s.seed, AUGMENT_SALT, ft.step, i));
    const examples = batch.map((r) => augmentedExample(tok, splits.train[r], train.examples[r], aug, rng, prompt, train.maxLength));
    return { examples, batch: examples.map((_, j) => j) };
  };
  // ranking on an f32 base merges LoRA into a copy (decoding then costs no adapter work); over a frozen int8 base the
  // KV decoder runs the model itself, adapters through its hook (no f32 copy of the base)
  let merged: GPT2 | null = null;
  const inferenceModel = (): GPT2 => {
    if (!ft.lora || model.frozen) return model;
    merged ??= new GPT2(s.config, { seed: null, kernels: model.kernels });
    merged.params.data.set(model.params.data);
    mergeLora((name) => (merged as GPT2).params.get(name), ft.lora, model.kernels);
    return merged;
  };
  // the ranking decoder's cache holds the longest ranked prompt + candidate, not the whole context (memory)
  const reserve = closedSet ? Math.max(0, ...labelCandidates(tok, labels, prompt).map((c) => c.length)) : 0;
  const longestPrompt = closedSet ? Math.max(1, ...[...valRows, ...splits.test].map((ex) => fitPrompt(tok, ex, reserve, prompt, ex.where).ids.length)) : 1;
  const capacity = Math.min(s.config.blockSize, longestPrompt + reserve);
  let decoder: KVDecoder | null = null;
  const decoderFor = (m: GPT2): KVDecoder => {
    if (decoder?.model !== m) decoder = new KVDecoder(m, capacity);
    return decoder;
  };
  const validateOn = (set: EncodedTask, rows: TaskExample[]): { loss: number; accuracy: number | null } => {
    if (set.examples.length === 0) return { loss: NaN, accuracy: null };
    const forwardLoss = () => ft.evaluate(sortedBatches(set.examples.map((e) => e.ids.length), s.B).map((b) => packBatch(set.examples, b, pad))).loss;
    if (!closedSet) return { loss: forwardLoss(), accuracy: null };
    const ranker = inferenceModel();
    const r = rankingAccuracy(ranker, tok, rows, labels, { ...prompt, decoder: decoderFor(ranker) });
    // the ranking scored every row's true answer after its whole prompt, the tokens the loss counts: their mean is
    // the loss, without a second pass over the rows. A prompt the ranking did not cut (room for the longest label)
    // was not cut for the loss either (room for its own answer); a cut one may be cut differently.
    const loss = r.answerLoss !== null && r.cut === 0 ? r.answerLoss : forwardLoss();
    return { loss, accuracy: r.accuracy };
  };
  const saveState = () => {
    state.batches = batches.getState();
    saveFinetuneState(path.join(o.out, STATE_FILE), ft, { tokenizer: s.task.tokenizer, run: { ...settings }, data: state });
    writeLossCurve(o.out, metrics, s.model, null, 'fine-tuning');
  };
  let lastVal: ValResult | null = null;
  const validate = (): boolean => {
    const r = validateOn(val, valRows);
    lastVal = { step: ft.step, ...r };
    metrics.append({ type: 'val', step: ft.step, valLoss: r.loss, ...(r.accuracy !== null ? { valAccuracy: r.accuracy } : {}) });
    let improved = true;
    if (valRows.length === 0) state.best = lastVal; // without validation data the latest model is kept
    else improved = bookValidation(state, lastVal);
    if (improved) {
      saveCheckpoint(path.join(o.out, BEST_FILE), { model, step: ft.step, tokenizer: s.task.tokenizer, sequenceStart: s.task.sequenceStart, run: { ...s, task: info }, finetune: { method: s.method }, adapter: ft.lora?.params });
    }
    return improved;
  };

  const last = Math.min(s.steps, o.stopAt ?? s.steps);
  const first = ft.step;
  const progress = new Progress('finetune', last - first, { unit: 'steps', stream, live });
  const interrupt = onInterrupt();
  let stoppedEarly = false;
  let note = '';
  try {
    while (ft.step < last && !interrupt.requested) {
      for (let i = 0; i < s.gradAccum; i++) {
        const d = drawn(batches.next(), i);
        // --prompt-loss(-tokens): the prompt tokens with a loss drawn afresh per row, seeded like the augmentation (resume
        // repeats it); none to draw when no prompt token or every one carries a loss
        const rng = promptPicks > 0 && promptPicks < longest ? new Rng(deriveSeed(s.seed, PROMPT_LOSS_SALT, ft.step, i)) : undefined;
        micro[i] = packBatch(d.examples, d.batch, pad, { ...promptLoss, rng }, micro[i]);
      }
      const st = ft.trainStep(micro as PackedBatch[]);
      const step = st.step;
      if (!Number.isFinite(st.loss) && st.counted > 0) throw new UserError(`loss became ${st.loss} at step ${step}; lower --lr (now ${s.lr}) or --grad-clip and start again`);
      metrics.append({ type: 'train', step, loss: st.loss, lr: st.lr, gradNorm: st.gradNorm, ms: st.ms, tokPerSec: (st.tokens / st.ms) * 1000 });
      o.onStep?.({ step, loss: st.loss });
      if ((s.valEvery > 0 && step % s.valEvery === 0) || step === s.steps) {
        validate();
        if (s.patience > 0 && state.stale >= s.patience) stoppedEarly = true;
      }
      const v = lastVal as ValResult | null;
      note = `loss ${st.loss.toFixed(4)} | lr ${st.lr.toExponential(2)} | ${(st.ms / 1000).toFixed(2)} s/step`;
      if (v && valRows.length > 0) note += ` | val loss ${v.loss.toFixed(4)}${v.accuracy !== null ? ` acc ${(100 * v.accuracy).toFixed(1)}%` : ''}`;
      progress.update(step - first, `step ${step}/${s.steps} | ${note}`);
      if (!live && (step % s.logEvery === 0 || step === last)) {
        const eta = ((performance.now() - t0) / (step - first)) * (last - step);
        say(`step ${step}/${s.steps} | ${note} | ETA ${formatDuration(eta / 1000)}`);
      }
      if (stoppedEarly) {
        say(`early stop at step ${step}: neither validation accuracy nor loss improved in ${s.patience} validations (best model at ${describeVal(state.best)})`);
        break;
      }
      if (s.ckptEvery > 0 && step % s.ckptEvery === 0 && step !== last) saveState();
      await new Promise<void>((resolve) => setImmediate(resolve)); // Ctrl-C is delivered by the event loop
    }
    // the best model needs at least one validation
    if (state.best === null) validate();
    saveState();
  } finally {
    interrupt.dispose();
  }
  if (live) progress.finish(note);
  const step = ft.step;
  const interrupted = interrupt.requested && step < last;
  say(`${interrupted ? 'interrupted: ' : ''}saved ${path.join(o.out, STATE_FILE)} at step ${step}${step < s.steps && !stoppedEarly ? ` of ${s.steps} (continue with --resume)` : ''}; best model (${describeVal(state.best)}) in ${path.join(o.out, BEST_FILE)}`);
  if (interrupted) throw new Interrupted(`stopped at step ${step}; continue with --resume`);

  // the best model back in place: for the adapter files, the merge and the test split
  loadCheckpoint(path.join(o.out, BEST_FILE), model, undefined, ft.lora?.params);
  if (ft.lora) {
    savePeftAdapter(path.join(o.out, ADAPTER_DIR), ft.lora, { baseModel: s.from });
    if (s.merge) {
      const best = loadCheckpointWeights(path.join(o.out, BEST_FILE), { kernels: getKernels() }).model; // merged on load
      saveCheckpoint(path.join(o.out, BEST_FILE), { model: best, step: state.best?.step ?? step, tokenizer: s.task.tokenizer, sequenceStart: s.task.sequenceStart, run: { ...s, task: info } });
      say(`merged the LoRA adapter into ${path.join(o.out, BEST_FILE)}; the adapter alone is in ${path.join(o.out, ADAPTER_DIR)}`);
    } else say(`LoRA adapter (PEFT layout) in ${path.join(o.out, ADAPTER_DIR)}; ${BEST_FILE} holds base + adapter (merged when loaded)`);
  }
  let test: FinetuneResult['test'] = null;
  if (splits.test.length > 0) {
    const r = validateOn(encode('test', splits.test), splits.test);
    test = { ...r, examples: splits.test.length };
    say(`test (${splits.test.length} examples, best model): loss ${r.loss.toFixed(4)}${r.accuracy !== null ? ` | ranking accuracy ${(100 * r.accuracy).toFixed(1)}%` : ''}`);
  }
  return { step, best: state.best, last: lastVal, test, labels, trainable: ft.numTrainable, stoppedEarly, interrupted, seconds: (performance.now() - t0) / 1000 };
}
