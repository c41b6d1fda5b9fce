// One optimizer step of GPT-2 pre-training, as llm.c's training loop: gradient accumulation over micro-batches
// (B,T), global-norm clipping, the warmup+cosine learning rate, AdamW; plus validation loss over a fixed
// number of batches. Parameters, gradients and moments are preallocated once: memory stays flat across steps.
import { checkDropout, passDropout } from '../models/gpt2/dropout.js';
import type { GPT2 } from '../models/gpt2/model.js';
import { FlatAdamW, ADAMW_DEFAULTS, clipGlobalNorm, type AdamWHyper } from './adamw.js';
import { lrAt, type LrSchedule } from './schedule.js';

/** Token batches (B, T+1) row-major: inputs are [:, :T], targets [:, 1:]. ShardLoader satisfies it. */
export interface BatchSource {
  next(): Int32Array;
  /** Back to the first batch (validation restarts from it each time). */
  reset?(): void;
}

export interface TrainerOptions {
  B: number;
  T: number;
  /** Micro-batches per optimizer step (total batch = gradAccum·B·T tokens). */
  gradAccum: number;
  schedule: LrSchedule;
  /** Global gradient-norm limit (≤ 0 = off). */
  gradClip: number;
  adamw?: AdamWHyper;
  /** Dropout of the embeddings and residual branches in training passes (GPT-2's resid_pdrop; default 0), its masks seeded by `seed`. */
  dropout?: number;
  /** Seed of the dropout masks (default 1337). */
  seed?: number;
}

export interface StepStats {
  /** Optimizer steps completed after this one (1 for the first step). */
  step: number;
  /** Mean training loss over the micro-batches. */
  loss: number;
  lr: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
  ms: number;
  tokens: number;
}

export class Trainer {
  /** Optimizer steps completed. */
  step = 0;
  readonly optimizer: FlatAdamW;
  private readonly inputs: Int32Array;
  private readonly targets: Int32Array;

  constructor(
    readonly model: GPT2,
    readonly data: BatchSource,
    readonly opts: TrainerOptions,
  ) {
    if (!Number.isInteger(opts.gradAccum) || opts.gradAccum < 1) throw new Error(`gradAccum must be a positive integer, got ${opts.gradAccum}`);
    checkDropout(opts.dropout ?? 0);
    this.optimizer = new FlatAdamW(model.params.table, model.alloc, opts.adamw ?? ADAMW_DEFAULTS);
    model.ensureGrads();
    this.inputs = new Int32Array(opts.B * opts.T);
    this.targets = new Int32Array(opts.B * opts.T);
  }

  /** Splits a (B,T+1) batch into inputs (B,T) and targets (B,T). */
  private load(batch: Int32Array): void {
    const { B, T } = this.opts;
    if (batch.length < B * (T + 1)) throw new Error(`batch has ${batch.length} tokens, expected B*(T+1) = ${B * (T + 1)}`);
    for (let b = 0; b < B; b++) {
      const row = b * (T + 1);
      this.inputs.set(batch.subarray(row, row + T), b * T);
      this.targets.set(batch.subarray(row + 1, row + T + 1), b * T);
    }
  }

  trainStep(): StepStats {
    const t0 = performance.now();
    const { B, T, gradAccum, schedule, gradClip } = this.opts;
    const model = this.model;
    const grads = model.ensureGrads().data;
    const prof = model.profiler;
    prof?.start();
    model.zeroGrad();
    prof?.lap('zerograd');
    let loss = 0;
    try {
      for (let micro = 0; micro < gradAccum; micro++) {
        this.load(this.data.next());
        model.dropout = passDropout(this.opts.dropout ?? 0, this.opts.seed ?? 1337, this.step, micro);
        loss += model.forward(this.inputs, this.targets, B, T);
        model.backward(1 / gradAccum);
      }
    } finally {
      model.dropout = null;
    }
    loss /= gradAccum;
    prof?.start();
    const gradNorm = clipGlobalNorm(grads, gradClip);
    prof?.lap('gradnorm+clip');
    const lr = lrAt(this.step, schedule);
    this.optimizer.step(model.kernels, model.params.data, grads, lr);
    prof?.lap('adamw');
    this.step++;
    return { step: this.step, loss, lr, gradNorm, ms: performance.now() - t0, tokens: gradAccum * B * T };
  }

  /** Mean loss over `batches` batches of `source` (from its first batch when it can reset). */
  evaluate(source: BatchSource, batches: number): number {
    const { B, T } = this.opts;
    source.reset?.();
    const saved = this.model.profiler;
    this.model.profiler = null;
    let sum = 0;
    for (let i = 0; i < batches; i++) {
      this.load(source.next());
      sum += this.model.forward(this.inputs, this.targets, B, T);
    }
    this.model.profiler = saved;
    return sum / batches;
  }
}
