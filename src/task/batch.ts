// Length-bucketed batches of encoded examples, so fine-tuning does not spend compute on padding: each
// epoch visits the examples in a seeded random order, sorts windows of `bucket` batches by length,
// cuts them into batches of B and shuffles the batch order; a batch is padded only to its own longest
// example, with ignored (-1) targets. The position (epoch, batch) is the whole state: resuming replays
// the same batches. Evaluation batches are simply sorted by length (no shuffle).
import { Permutation } from '../data/permutation.js';
import { Rng } from '../util/rng.js';
import { exampleTargets, type EncodedExample, type PromptLoss } from './encode.js';

export interface BatchState {
  epoch: number;
  /** Batches of this epoch already handed out. */
  batch: number;
}

export interface BucketOptions {
  /** Rows per batch. */
  B: number;
  seed: number;
  /** Batches per length-sorted window (default 16; 1 = no bucketing, every batch random). */
  bucket?: number;
}

/** Example indices of one batch. */
export type Batch = number[];

export class BucketedBatches {
  private epochBatches: Batch[];
  private state: BatchState = { epoch: 0, batch: 0 };

  constructor(
    private readonly lengths: readonly number[],
    private readonly opts: BucketOptions,
  ) {
    if (lengths.length === 0) throw new Error('BucketedBatches: no examples');
    if (!Number.isInteger(opts.B) || opts.B < 1) throw new Error(`BucketedBatches: B must be a positive integer, got ${opts.B}`);
    this.epochBatches = this.plan(0);
  }

  /** Batches per epoch (the last one may have fewer than B rows). */
  get batchesPerEpoch(): number {
    return Math.ceil(this.lengths.length / this.opts.B);
  }

  /** The batches of `epoch`, a function of (seed, epoch) only. */
  plan(epoch: number): Batch[] {
    const n = this.lengths.length;
    const { B } = this.opts;
    const perm = new Permutation(n, this.opts.seed, epoch);
    const order = Array.from({ length: n }, (_, i) => perm.at(i));
    const window = B * Math.max(1, this.opts.bucket ?? 16);
    const batches: Batch[] = [];
    for (let w = 0; w < n; w += window) {
      const chunk = order.slice(w, w + window).sort((a, b) => this.lengths[a] - this.lengths[b] || a - b);
      for (let i = 0; i < chunk.length; i += B) batches.push(chunk.slice(i, i + B));
    }
    const rng = new Rng((this.opts.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    for (let i = batches.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [batches[i], batches[j]] = [batches[j], batches[i]];
    }
    return batches;
  }

  next(): Batch {
    if (this.state.batch >= this.epochBatches.length) {
      this.state = { epoch: this.state.epoch + 1, batch: 0 };
      this.epochBatches = this.plan(this.state.epoch);
    }
    return this.epochBatches[this.state.batch++];
  }

  getState(): BatchState {
    return { ...this.state };
  }

  setState(s: BatchState): void {
    if (s.epoch !== this.state.epoch) this.epochBatches = this.plan(s.epoch);
    this.state = { ...s };
  }
}

/** Evaluation batches: all examples sorted by length, cut into batches of B (least padding). */
export function sortedBatches(lengths: readonly number[], B: number): Batch[] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b] || a - b);
  const out: Batch[] = [];
  for (let i = 0; i < order.length; i += B) out.push(order.slice(i, i + B));
  return out;
}

/** A batch as model input: rows × T ids and targets (padding: pad id in, -1 out). */
export interface PackedBatch {
  inputs: Int32Array;
  targets: Int32Array;
  B: number;
  T: number;
  /** Targets that count. */
  count: number;
}

/**
 * Packs the examples of `batch` into (B, T) inputs and targets, T = the longest example's length − 1.
 * Buffers are reused when large enough.
 */
export function packBatch(examples: readonly EncodedExample[], batch: Batch, pad: number, prompt: PromptLoss = { share: 0 }, into?: PackedBatch): PackedBatch {
  const B = batch.length;
  const T = batch.reduce((m, i) => Math.max(m, examples[i].ids.length - 1), 1);
  const need = B * T;
  const inputs = into && into.inputs.length >= need ? into.inputs : new Int32Array(need);
  const targets = into && into.targets.length >= need ? into.targets : new Int32Array(need);
  let count = 0;
  batch.forEach((idx, b) => {
    const ex = examples[idx];
    const row = inputs.subarray(b * T, (b + 1) * T);
    const n = Math.min(T, ex.ids.length);
    row.set(ex.ids.subarray(0, n));
    row.fill(pad, n);
    count += exampleTargets(ex, targets.subarray(b * T, (b + 1) * T), T, prompt);
  });
  return { inputs, targets, B, T, count };
}
