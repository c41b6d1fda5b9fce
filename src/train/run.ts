// A whole pre-training run as `tinyllm pretrain` drives it: a run directory (config.json, checkpoint.ckpt,
// metrics.jsonl, loss.svg, samples.txt), shard loaders, the step loop with progress, validation, text
// samples and atomic checkpoints every N steps and on Ctrl-C, and exact resumption from a checkpoint.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ShardLoader } from '../data/loader.js';
import type { Kernels } from '../kernels/types.js';
import { numParams, type GPT2Config } from '../models/gpt2/config.js';
import { generateText, type TextCodec } from '../models/gpt2/generate.js';
import { GPT2 } from '../models/gpt2/model.js';
import { applyNumberInit } from '../models/gpt2/number-init.js';
import { applyPositionInit } from '../models/gpt2/position-init.js';
import { DEFAULT_SEQUENCE_START } from '../task/sequence.js';
import { checkTrainingMemory } from '../models/gpt2/memory.js';
import { resolveTokenizer } from '../tokenizer/gpt2.js';
import { fsUserError, isFsError, UserError } from '../util/errors.js';
import { removeStaleTemps, writeFileAtomic } from '../util/fs.js';
import { onInterrupt } from '../util/interrupt.js';
import { formatDuration, Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { unigramBaseline } from './baseline.js';
import { CHECKPOINT_FILE, loadCheckpoint, saveCheckpoint, saveOrRescue } from './checkpoint.js';
import { lossCurveSvg } from './losscurve.js';
import { MetricsLog } from './metrics.js';
import { Trainer, type StepStats } from './trainer.js';
import { ADAMW_DEFAULTS } from './adamw.js';

/** Everything that defines a run; saved in config.json and in every checkpoint (JSON-serializable). */
export interface RunSettings {
  /** Preset name, or 'custom'. */
  model: string;
  config: GPT2Config;
  /** Shard directory / prefix / file (see ShardLoaderOptions.pattern), stored resolved so --resume works from any folder. */
  data: string;
  /** Micro-batch rows and sequence length. */
  B: number;
  T: number;
  /** Tokens per optimizer step (a multiple of B·T; the rest is gradient accumulation). */
  totalBatch: number;
  steps: number;
  lr: number;
  warmup: number;
  finalLrFrac: number;
  weightDecay: number;
  /** AdamW betas and epsilon (absent in runs from before they were settable: 0.9, 0.95, 1e-8). */
  beta1?: number;
  beta2?: number;
  eps?: number;
  gradClip: number;
  /** Dropout of the embeddings and residual branches while training (absent in older runs: 0). */
  dropout?: number;
  valEvery: number;
  valBatches: number;
  sampleEvery: number;
  sampleTokens: number;
  ckptEvery: number;
  /** Progress line every N steps when stderr is not a terminal. */
  logEvery: number;
  seed: number;
  /** 'gpt2', a tokenizer directory/file, or null (no text samples). */
  tokenizer: string | null;
}

export interface RunOptions {
  out: string;
  /** Checkpoint to continue from. */
  resume?: string;
  /** Weights to start a fresh run from (paramSpecs order, e.g. loadWeights().flat) instead of a random init. */
  initWeights?: Float32Array;
  /** A fresh random init with the number tokens' embeddings placed by value (models/gpt2/number-init.ts; needs a tokenizer). */
  numberInit?: boolean;
  /** A fresh random init with sinusoidal position embeddings (models/gpt2/position-init.ts). */
  positionInit?: boolean;
  /** Stop (and checkpoint) once this many steps are done, without changing the schedule. */
  stopAt?: number;
  /** Where progress goes (default process.stderr). */
  stream?: NodeJS.WriteStream;
  /** Redraw a live progress line (default: stream is a TTY and not CI). */
  live?: boolean;
  /** Kernel set (default: the process default, getKernels()). */
  kernels?: Kernels;
  /** Optional callback after each step (used by benchmarks and tests). */
  onStep?: (s: StepStats) => void;
}

export interface RunResult {
  step: number;
  lastLoss: number;
  lastValLoss: number | null;
  /** Unigram cross-entropy of the validation shards (see baseline.ts), when they exist. */
  unigramBaseline: number | null;
  checkpoint: string;
  interrupted: boolean;
}

/** Files that mark a directory as holding a run (checkOutDir refuses to start a new run over them without --force). */
export const RUN_MARKERS = [CHECKPOINT_FILE, 'config.json', 'metrics.jsonl'];

/** The tokenizer a run samples with: 'gpt2', a path, or none. */
export function openTokenizer(spec: string | null): (TextCodec & { vocabSize: number }) | null {
  if (spec === null) return null;
  return resolveTokenizer(spec);
}

export function gradAccumSteps(s: Pick<RunSettings, 'B' | 'T' | 'totalBatch'>): number {
  const bt = s.B * s.T;
  if (s.totalBatch % bt !== 0 || s.totalBatch < bt) {
    throw new UserError(`--total-batch ${s.totalBatch} must be a positive multiple of --batch × --seq = ${bt} tokens (e.g. ${bt * Math.max(1, Math.round(s.totalBatch / bt))})`);
  }
  return s.totalBatch / bt;
}

/** Where the validation shards of a --data pattern are: the same directory, prefix (_train -> _val) or file name. */
export function valPattern(data: string): string | null {
  if (fs.statSync(data, { throwIfNoEntry: false })?.isDirectory()) return data;
  if (/_train$/.test(data)) return data.replace(/_train$/, '_val');
  if (/_train_\d{6}\.bin$/.test(data)) return data.replace(/_train_(\d{6})\.bin$/, '_val_$1.bin');
  return null;
}

export async function runPretraining(settings: RunSettings, o: RunOptions): Promise<RunResult> {
  const s = settings;
  const stream = o.stream ?? process.stderr;
  const live = o.live ?? (Boolean(stream.isTTY) && !process.env.CI);
  const say = (msg: string) => stream.write(`${msg}\n`);
  const gradAccum = gradAccumSteps(s);
  if (s.T > s.config.blockSize) throw new UserError(`--seq ${s.T} exceeds the block size ${s.config.blockSize}; use --seq ≤ ${s.config.blockSize} or a larger --block-size`);
  const tokenizer = openTokenizer(s.tokenizer);
  if (tokenizer && tokenizer.vocabSize > s.config.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${s.config.vocabSize}; use --vocab-size ${tokenizer.vocabSize} or --tokenizer none`);
  }
  checkTrainingMemory(s);

  // Nothing is written into the run directory until the model, the data and the checkpoint are all loaded.
  const ckptPath = path.join(o.out, CHECKPOINT_FILE);
  const metrics = new MetricsLog(path.join(o.out, 'metrics.jsonl'));
  const model = new GPT2(s.config, { seed: o.initWeights ? null : s.seed, kernels: o.kernels });
  if (o.initWeights && !o.resume) {
    if (o.initWeights.length !== model.params.data.length) throw new Error(`initWeights has ${o.initWeights.length} values, the model ${model.params.data.length}`);
    model.params.data.set(o.initWeights);
  }
  if (o.numberInit && !o.resume) {
    if (o.initWeights) throw new UserError('--number-init sets up a random init: it does not go with --init');
    if (!tokenizer) throw new UserError('--number-init needs the tokenizer that says which tokens are numbers: drop --tokenizer none');
    say(`number init: the embeddings of ${applyNumberInit(model, tokenizer, s.seed)} number tokens start placed by their value`);
  }
  if (o.positionInit && !o.resume) {
    if (o.initWeights) throw new UserError('--position-init sets up a random init: it does not go with --init');
    applyPositionInit(model);
    say('position init: the position embeddings start as sinusoids of the position');
  }
  const train = new ShardLoader({ pattern: s.data, B: s.B, T: s.T, seed: s.seed, shuffle: true, split: 'train', vocabSize: s.config.vocabSize });
  let val: ShardLoader | null = null;
  let baseline: number | null = null;
  const valData = valPattern(s.data);
  if (s.valEvery > 0 && s.valBatches > 0 && valData) {
    try {
      // a fixed random subset of windows (reset() replays it), so a few batches represent the whole set
      val = new ShardLoader({ pattern: valData, B: s.B, T: s.T, seed: 0, shuffle: true, split: 'val', vocabSize: s.config.vocabSize });
      baseline = unigramBaseline([...train.files], [...val.files], s.config.vocabSize);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      say(`note: no validation shards for ${s.data} (${e.message.split(';')[0]}); validation is off`);
    }
  }
  const trainer = new Trainer(model, train, {
    B: s.B,
    T: s.T,
    gradAccum,
    schedule: { lr: s.lr, warmup: s.warmup, steps: s.steps, finalLrFrac: s.finalLrFrac },
    gradClip: s.gradClip,
    dropout: s.dropout ?? 0,
    seed: s.seed,
    adamw: { beta1: s.beta1 ?? ADAMW_DEFAULTS.beta1, beta2: s.beta2 ?? ADAMW_DEFAULTS.beta2, eps: s.eps ?? ADAMW_DEFAULTS.eps, weightDecay: s.weightDecay },
  });
  const rng = new Rng(s.seed ^ 0x5eed);

  let savedStep: number | null = null;
  if (o.resume) {
    const h = loadCheckpoint(o.resume, model, trainer.optimizer);
    trainer.step = h.step;
    savedStep = h.step;
    if (h.rng) rng.setState(h.rng);
    if (h.data) train.setState(h.data, `checkpoint ${o.resume}: data-loader position`);
  }
  // the run really starts: from here on the run directory is ours to write
  fs.mkdirSync(o.out, { recursive: true });
  for (const f of removeStaleTemps(o.out)) say(`removed ${path.join(o.out, f)}, left by an interrupted save`);
  if (o.resume) {
    metrics.truncateAfter(trainer.step);
    say(`resumed from ${o.resume} at step ${trainer.step}`);
  } else {
    metrics.truncateAfter(0);
    fs.rmSync(path.join(o.out, 'samples.txt'), { force: true });
  }
  writeFileAtomic(path.join(o.out, 'config.json'), `${JSON.stringify({ ...s, numParams: numParams(s.config), gradAccum }, null, 2)}\n`);
  const n = numParams(s.config);
  say(
    `model ${s.model}: ${n.toLocaleString('en-US')} parameters (L=${s.config.nLayer} H=${s.config.nHead} C=${s.config.nEmbd} ` +
      `V=${s.config.vocabSize} ctx=${s.config.blockSize}) | kernels ${model.kernels.name} × ${model.kernels.threads} threads`,
  );
  if (baseline !== null) say(`unigram baseline on the validation shards: ${baseline.toFixed(4)} nats/token (a model that ignores context)`);
  say(`batch ${s.B}×${s.T} × ${gradAccum} accumulation = ${s.totalBatch} tokens/step | ${train.tokensPerEpoch.toLocaleString('en-US')} tokens/epoch${s.dropout ? ` | dropout ${s.dropout}` : ''} | run dir ${o.out}`);

  const save = () => {
    // shards from prepare (and llm.c) put <|endoftext|> before every document: prompts start the same way
    const state = { model, step: trainer.step, tokenizer: s.tokenizer, sequenceStart: DEFAULT_SEQUENCE_START, optimizer: trainer.optimizer, run: { ...s }, rng: rng.getState(), data: train.getState() };
    saveOrRescue(ckptPath, (file) => saveCheckpoint(file, state), trainer.step, savedStep);
    savedStep = trainer.step;
    try {
      writeLossCurve(o.out, metrics, s.model, baseline);
    } catch (e) {
      if (!isFsError(e)) throw e;
      say(`note: loss curve not updated (${fsUserError(e).message})`);
    }
  };
  const validate = (): number => {
    const loss = trainer.evaluate(val as ShardLoader, Math.min(s.valBatches, Math.floor((val as ShardLoader).windowsPerEpoch / s.B) || 1));
    metrics.append({ type: 'val', step: trainer.step, valLoss: loss });
    return loss;
  };
  const sample = () => {
    if (!tokenizer) return;
    const { text } = generateText(model, tokenizer, '', { maxTokens: s.sampleTokens, rng, topK: 40 });
    metrics.append({ type: 'sample', step: trainer.step, text });
    fs.appendFileSync(path.join(o.out, 'samples.txt'), `--- step ${trainer.step} ---\n${text}\n\n`);
    if (live) stream.write('\r\x1b[K');
    say(`sample at step ${trainer.step}: ${JSON.stringify(text.slice(0, 200))}`);
  };

  const first = trainer.step;
  const last = Math.min(s.steps, o.stopAt ?? s.steps);
  const progress = new Progress('pretrain', last - first, { unit: 'steps', stream, live });
  const interrupt = onInterrupt();
  const t0 = performance.now();
  let lastLoss = NaN;
  let lastVal: number | null = null;
  let note = '';
  try {
    while (trainer.step < last && !interrupt.requested) {
      const st = trainer.trainStep();
      lastLoss = st.loss;
      if (!Number.isFinite(st.loss)) {
        throw new UserError(`loss became ${st.loss} at step ${st.step}; lower --lr (now ${s.lr}) or --grad-clip, then --resume from the last checkpoint or start fresh`);
      }
      const tokPerSec = (st.tokens / st.ms) * 1000;
      metrics.append({ type: 'train', step: st.step, loss: st.loss, lr: st.lr, gradNorm: st.gradNorm, ms: st.ms, tokPerSec });
      o.onStep?.(st);
      if (val && (st.step % s.valEvery === 0 || st.step === s.steps)) lastVal = validate();
      note = `loss ${st.loss.toFixed(4)} | lr ${st.lr.toExponential(2)} | norm ${st.gradNorm.toFixed(3)} | ${Math.round(tokPerSec)} tok/s | ${(st.ms / 1000).toFixed(2)} s/step`;
      if (lastVal !== null) note += ` | val ${lastVal.toFixed(4)}`;
      progress.update(st.step - first, `step ${st.step}/${s.steps} | ${note}`);
      if (!live && (st.step % s.logEvery === 0 || st.step === last)) {
        const eta = ((performance.now() - t0) / (st.step - first)) * (last - st.step);
        say(`step ${st.step}/${s.steps} | ${note} | ETA ${formatDuration(eta / 1000)}`);
      }
      if (s.sampleEvery > 0 && st.step % s.sampleEvery === 0) sample();
      if (s.ckptEvery > 0 && st.step % s.ckptEvery === 0 && st.step !== last) save();
      // let the event loop run: signals (Ctrl-C) are delivered there
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    save();
  } catch (e) {
    // a file-system error mid-run (e.g. the disk fills while logging): keep the weights before stopping
    if (!isFsError(e)) throw e;
    save(); // throws itself, saying where the weights went, when the run directory cannot take them
    throw new UserError(`${fsUserError(e).message}; the run was saved at step ${trainer.step} in ${ckptPath} — fix that, then continue with --resume ${o.out}`);
  } finally {
    interrupt.dispose();
    train.close();
    val?.close();
  }
  if (live) progress.finish(note);
  const interrupted = trainer.step < last;
  // an interrupted command says how to continue (pretrain and demo differ); a --stop-at run says it here
  const more = trainer.step < s.steps ? ` of ${s.steps}${interrupted ? '' : ` (continue with --resume ${o.out})`}` : '';
  say(`${interrupted ? 'interrupted: ' : ''}saved ${ckptPath} at step ${trainer.step}${more}; loss curve ${path.join(o.out, 'loss.svg')}`);
  return { step: trainer.step, lastLoss, lastValLoss: lastVal, unigramBaseline: baseline, checkpoint: ckptPath, interrupted };
}

/** Rewrites <out>/loss.svg from metrics.jsonl. */
export function writeLossCurve(out: string, metrics: MetricsLog, title: string, baseline: number | null = null, kind = 'pre-training'): void {
  const rs = metrics.read();
  const train = rs.flatMap((r) => (r.type === 'train' ? [{ step: r.step, loss: r.loss }] : []));
  const val = rs.flatMap((r) => (r.type === 'val' ? [{ step: r.step, loss: r.valLoss }] : []));
  writeFileAtomic(path.join(out, 'loss.svg'), lossCurveSvg({
      train,
      val,
      title: `${title} ${kind} loss`,
      ...(baseline !== null ? { baseline: { loss: baseline, label: 'unigram baseline (val)' } } : {}),
    }));
}
