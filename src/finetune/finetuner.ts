// One optimizer step of fine-tuning on padded (B,T) batches whose targets are −1 wherever no loss counts
// (prompt, padding): the loss is the mean over all counted tokens of the step (token-weighted across passes,
// so splitting a batch into passes of fewer rows gives the same step), global-norm clipping, the warmup+cosine
// learning rate and AdamW over ONLY the trainable set (full, top-N blocks, or LoRA adapters): its params,
// gradients and moments are each one buffer, and frozen tensors get neither gradients nor moments. Method zo
// instead estimates the gradient from forward passes at θ ± εz (src/finetune/zo.ts): no gradients, no moments.
import type { FloatArray } from '../kernels/types.js';
import type { GPT2, GradTargets } from '../models/gpt2/model.js';
import { blockOf, type TensorEntry } from '../models/gpt2/params.js';
import { ADAMW_DEFAULTS, clipGlobalNorm, FlatAdamW, type AdamWHyper, type OptimizedTensor } from '../train/adamw.js';
import { lrAt, type LrSchedule } from '../train/schedule.js';
import type { StepStats } from '../train/trainer.js';
import { LoraAdapters } from './lora.js';
import { UserError } from '../util/errors.js';
import { describeMethod, loraOf, validateMethod, type FinetuneMethod, type LoraConfig } from './method.js';
import { ZoPerturbation, zoSeed } from './zo.js';
import { checkDropout, passDropout } from '../models/gpt2/dropout.js';

/** A batch of B rows of T tokens; targets[i] < 0 = no loss at position i (ignored). */
export interface FinetuneBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
}

export interface FinetuneOptions {
  method: FinetuneMethod;
  schedule: LrSchedule;
  /** Global gradient-norm limit (≤ 0 = off). */
  gradClip: number;
  adamw?: AdamWHyper;
  /** Seed of the LoRA initialisation and dropout masks (default 1337). */
  seed?: number;
  /** Adapters to continue training (LoRA; e.g. loadPeftAdapter) instead of a fresh initialisation. */
  lora?: LoraAdapters;
  /**
   * Largest number of tokens (rows × T) per forward/backward pass; a batch with more rows is split into
   * passes whose gradients accumulate (the same step, less activation memory). Default: no limit.
   */
  maxTokensPerPass?: number;
  /** Recompute block activations in backward instead of keeping them (about 1/3 more compute, far less memory). */
  recompute?: boolean;
  /** Dropout of the model's embeddings and residual branches in training passes (GPT-2's resid_pdrop; default 0). */
  dropout?: number;
}

export interface FinetuneStepStats extends StepStats {
  /** Tokens that carried a loss this step. */
  counted: number;
}

/** Token-weighted mean loss over batches and the number of counted tokens. */
export interface EvalLoss {
  loss: number;
  counted: number;
}

function countTargets(b: FinetuneBatch, r0 = 0, r1 = b.B): number {
  let n = 0;
  for (let i = r0 * b.T; i < r1 * b.T; i++) if (b.targets[i] >= 0) n++;
  return n;
}

export class Finetuner {
  /** Optimizer steps completed. */
  step = 0;
  /** AdamW over the trainable set (null for zo, which keeps no optimizer state). */
  readonly optimizer: FlatAdamW | null;
  /** The zeroth-order perturbation of the trainable set (method zo), else null. */
  readonly zo: ZoPerturbation | null = null;
  /** The LoRA adapters being trained (methods lora and zo over adapters), else null. */
  readonly lora: LoraAdapters | null;
  /** Values the optimizer updates: the model's parameter buffer (full, top) or the adapter buffer (lora). */
  readonly trainParams: FloatArray;
  /** Gradients of the trainable set only (compact for top and lora; null for zo). */
  readonly grads: FloatArray | null;
  /** Trainable parameters (tensors the optimizer updates), in optimizer order. */
  readonly trainable: OptimizedTensor[];
  private readonly seed: number;

  constructor(
    readonly model: GPT2,
    readonly opts: FinetuneOptions,
  ) {
    const m = opts.method;
    validateMethod(m, model.config);
    if (model.frozen && !loraOf(m)) throw new UserError(`a frozen (int8) base trains LoRA adapters only: use --method lora, or --method zo --zo-lora (not ${describeMethod(m)})`);
    this.seed = opts.seed ?? 1337;
    if (checkDropout(opts.dropout ?? 0) > 0 && m.kind === 'zo') throw new UserError('--dropout needs backpropagation: method zo compares two losses that must see the same function');
    const hyper = opts.adamw ?? ADAMW_DEFAULTS;
    model.recompute = opts.recompute ?? false;
    model.hook = null;
    const loraConfig = loraOf(m);
    if (m.kind === 'zo') {
      // forward passes only: keep block outputs alone (recompute's plan), no gradient buffers
      model.recompute = true;
      model.gradTargets = null;
      this.lora = loraConfig ? this.attachLora(loraConfig) : null;
      this.trainable = this.lora ? this.lora.table : model.params.table;
      this.trainParams = this.lora ? this.lora.params : model.params.data;
      this.grads = null;
      this.zo = new ZoPerturbation(this.trainParams, this.trainable);
      this.optimizer = null;
      return;
    }
    if (m.kind === 'full') {
      this.lora = null;
      model.gradTargets = null;
      this.trainable = model.params.table;
      this.trainParams = model.params.data;
      this.grads = model.ensureGrads().data;
    } else if (m.kind === 'lora') {
      const lora = this.attachLora(m.lora);
      this.lora = lora;
      this.trainable = lora.table;
      this.trainParams = lora.params;
      this.grads = lora.ensureGrads();
      const lowest = 0; // every block carries adapters
      model.gradTargets = { wte: null, wpe: null, lnfw: null, lnfb: null, h: model.params.tensors.h.map(() => null), lowestBlock: lowest };
    } else {
      this.lora = null;
      const L = model.config.nLayer;
      const lowest = L - m.layers;
      const trains = (name: string) => name.startsWith('ln_f.') || (/^h\.(\d+)\./.test(name) && Number(/^h\.(\d+)\./.exec(name)?.[1]) >= lowest);
      let offset = 0;
      this.trainable = model.params.table.filter((e) => trains(e.name)).map((e) => {
        const t = { ...e, offset, paramOffset: e.offset };
        offset += e.size;
        return t;
      });
      this.trainParams = model.params.data;
      const grads = model.alloc(offset);
      this.grads = grads;
      const views = new Map(this.trainable.map((e) => [e.name, grads.subarray(e.offset, e.offset + e.size)]));
      const v = (name: string) => views.get(name) as FloatArray;
      const targets: GradTargets = {
        wte: null,
        wpe: null,
        lnfw: v('ln_f.weight'),
        lnfb: v('ln_f.bias'),
        h: model.params.tensors.h.map((_, l) => (l >= lowest ? blockOf(l, v, v) : null)),
        lowestBlock: lowest,
      };
      model.gradTargets = targets;
    }
    this.optimizer = new FlatAdamW(this.trainable as TensorEntry[], model.alloc, hyper);
  }

  /** The given or a freshly initialised adapter of this shape, attached to the model. */
  private attachLora(config: LoraConfig): LoraAdapters {
    const lora = this.opts.lora ?? new LoraAdapters(this.model.config, config, this.model.alloc, this.seed);
    if (lora.config.r !== config.r || lora.config.alpha !== config.alpha || lora.config.targets.join() !== config.targets.join()) {
      throw new Error(`Finetuner: the given LoRA adapter (r=${lora.config.r}, α=${lora.config.alpha}, ${lora.config.targets.join(',')}) differs from the method's`);
    }
    lora.attach(this.model);
    return lora;
  }

  /** Number of trainable parameters. */
  get numTrainable(): number {
    return this.trainable.reduce((n, e) => n + e.size, 0);
  }

  /** Rows per pass for sequences of length T. */
  private rowsPerPass(B: number, T: number): number {
    const max = this.opts.maxTokensPerPass;
    return max === undefined ? B : Math.max(1, Math.min(B, Math.floor(max / T)));
  }

  /** The batches cut into passes of at most rowsPerPass rows, skipping passes without a counted target. */
  private *passes(batches: Iterable<FinetuneBatch>): Generator<FinetuneBatch & { counted: number }> {
    for (const b of batches) {
      const rows = this.rowsPerPass(b.B, b.T);
      for (let r0 = 0; r0 < b.B; r0 += rows) {
        const r1 = Math.min(b.B, r0 + rows);
        const counted = countTargets(b, r0, r1);
        if (counted > 0) yield { inputs: b.inputs.subarray(r0 * b.T, r1 * b.T), targets: b.targets.subarray(r0 * b.T, r1 * b.T), B: r1 - r0, T: b.T, counted };
      }
    }
  }

  /** Plans all activation memory for the largest batch to come (arena memory is not reused when a later plan grows). */
  reserve(B: number, T: number, countedRows = B * T): void {
    const rows = this.rowsPerPass(B, T);
    this.model.reserve(rows, T, Math.min(countedRows, rows * T), this.zo === null);
    this.lora?.reserve(rows * T);
  }

  /**
   * One optimizer step on one or more batches (gradient accumulation): the loss is the mean over every
   * counted target of all of them. A step without any counted target changes nothing and returns loss NaN.
   */
  trainStep(batches: FinetuneBatch | readonly FinetuneBatch[]): FinetuneStepStats {
    const t0 = performance.now();
    const list = Array.isArray(batches) ? (batches as readonly FinetuneBatch[]) : [batches as FinetuneBatch];
    const { model } = this;
    const total = list.reduce((n, b) => n + countTargets(b), 0);
    let tokens = 0;
    for (const b of list) tokens += b.B * b.T;
    const lr = lrAt(this.step, this.opts.schedule);
    if (total === 0) {
      this.step++;
      return { step: this.step, loss: NaN, lr, gradNorm: 0, ms: performance.now() - t0, tokens, counted: 0 };
    }
    if (this.zo) {
      const { loss, gradNorm } = this.zoStep(this.zo, list, lr);
      this.step++;
      return { step: this.step, loss, lr, gradNorm, ms: performance.now() - t0, tokens, counted: total };
    }
    const grads = this.grads as FloatArray;
    grads.fill(0);
    if (this.lora) this.lora.training = true;
    const dropout = this.opts.dropout ?? 0;
    let lossSum = 0;
    let pass = 0;
    try {
      for (const p of this.passes(list)) {
        if (this.lora) this.lora.dropoutSeed = hashSeed(this.seed, this.step, pass);
        model.dropout = passDropout(dropout, this.seed, this.step, pass);
        pass++;
        lossSum += model.forward(p.inputs, p.targets, p.B, p.T) * p.counted;
        model.backward(p.counted / total);
      }
    } finally {
      if (this.lora) this.lora.training = false;
      model.dropout = null;
    }
    const gradNorm = clipGlobalNorm(grads, this.opts.gradClip);
    (this.optimizer as FlatAdamW).step(model.kernels, this.trainParams, grads, lr);
    this.step++;
    return { step: this.step, loss: lossSum / total, lr, gradNorm, ms: performance.now() - t0, tokens, counted: total };
  }

  /**
   * One zeroth-order step (MeZO): per perturbation k, the loss at θ+εz and θ−εz (z regenerated from its seed,
   * θ restored exactly), g_k = ΔL / 2ε; then θ −= lr·(g_k / n)·z_k for each k. Returns the mean of the two
   * losses and the RMS of the projected gradients g_k, clipped to ±gradClip.
   */
  private zoStep(zo: ZoPerturbation, list: readonly FinetuneBatch[], lr: number): { loss: number; gradNorm: number } {
    const { eps, n } = (this.opts.method as Extract<FinetuneMethod, { kind: 'zo' }>).zo;
    const clip = this.opts.gradClip;
    zo.grid(eps);
    const g = new Float64Array(n);
    let lossSum = 0;
    for (let k = 0; k < n; k++) {
      const seed = zoSeed(this.seed, this.step, k);
      zo.perturb(seed, eps, 1);
      const plus = this.evaluate(list).loss;
      zo.perturb(seed, eps, -2);
      const minus = this.evaluate(list).loss;
      zo.perturb(seed, eps, 1);
      const raw = (plus - minus) / (2 * eps);
      g[k] = clip > 0 ? Math.max(-clip, Math.min(clip, raw)) : raw;
      lossSum += (plus + minus) / 2;
    }
    for (let k = 0; k < n; k++) if (g[k] !== 0) zo.update(zoSeed(this.seed, this.step, k), (-lr * g[k]) / n);
    return { loss: lossSum / n, gradNorm: Math.sqrt(g.reduce((a, x) => a + x * x, 0) / n) };
  }

  /** Mean loss over all counted targets of the batches (no dropout, no gradients). */
  evaluate(batches: Iterable<FinetuneBatch>): EvalLoss {
    let sum = 0;
    let counted = 0;
    for (const p of this.passes(batches)) {
      sum += this.model.forward(p.inputs, p.targets, p.B, p.T) * p.counted;
      counted += p.counted;
    }
    return { loss: counted > 0 ? sum / counted : NaN, counted };
  }

  /** Gives the model back for plain use (pre-training, inference): no hook, all gradients, no recompute. */
  detach(): void {
    this.model.hook = null;
    this.model.gradTargets = null;
    this.model.recompute = false;
  }
}

/** A per-pass dropout seed from the run seed, step and pass index. */
function hashSeed(seed: number, step: number, pass: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  for (const w of [step, pass]) {
    h = Math.imul(h ^ w, 0x01000193) >>> 0;
    h ^= h >>> 15;
  }
  return h >>> 0;
}
