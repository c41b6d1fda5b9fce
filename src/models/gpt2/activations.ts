// Activation memory of GPT-2 training, planned as in llm.c: ONE buffer for everything the forward pass
// saves for backward (sized for a micro-batch B×T) and ONE buffer of backward scratch reused by every
// layer (the gradient flowing down the residual stream is accumulated in place, so no per-layer copies).
// With `recompute` (activation checkpointing) the blocks share one set of views except their outputs, and
// backward re-runs each block's forward. The LM head's rows are sized apart (HeadActs): only rows with a loss.
import type { FloatArray } from '../../kernels/types.js';
import type { GPT2Config } from './config.js';
import type { Allocator } from './params.js';

/** Allocates one buffer and cuts it into named views of the given sizes, in order. */
export function carve<K extends string>(alloc: Allocator, sizes: [K, number][]): Record<K, FloatArray> {
  const buf = alloc(sizes.reduce((n, [, s]) => n + s, 0));
  const out = {} as Record<K, FloatArray>;
  let off = 0;
  for (const [name, s] of sizes) {
    out[name] = buf.subarray(off, off + s);
    off += s;
  }
  return out;
}

/** What one block saves in the forward pass. */
export interface BlockActs {
  ln1: FloatArray; // (B,T,C)
  ln1Mean: FloatArray; // (B,T)
  ln1Rstd: FloatArray; // (B,T)
  qkv: FloatArray; // (B,T,3C)
  atty: FloatArray; // (B,T,C)  attention output before c_proj
  att: FloatArray; // (B,NH,T,T)  softmaxed scores
  res2: FloatArray; // (B,T,C)  residual after attention
  ln2: FloatArray; // (B,T,C)
  ln2Mean: FloatArray; // (B,T)
  ln2Rstd: FloatArray; // (B,T)
  fch: FloatArray; // (B,T,4C)  c_fc output
  fchGelu: FloatArray; // (B,T,4C)
  res3: FloatArray; // (B,T,C)  residual after the MLP = block output
}

export interface ForwardActs {
  B: number;
  T: number;
  encoded: FloatArray; // (B,T,C)
  blocks: BlockActs[];
  preatt: FloatArray; // (B,NH,T,T)  scratch: backward needs only att
  lnf: FloatArray; // (B,T,C)
  lnfMean: FloatArray; // (B,T)
  lnfRstd: FloatArray; // (B,T)
  /** True when the blocks share their views (all but res3) and backward recomputes them. */
  recompute: boolean;
}

/** What one block saves, in float elements per buffer, for a micro-batch (B,T). */
function blockSizes(c: GPT2Config, B: number, T: number): [keyof BlockActs, number][] {
  const { nHead: NH, nEmbd: C } = c;
  const BT = B * T;
  return [
    ['ln1', BT * C],
    ['ln1Mean', BT],
    ['ln1Rstd', BT],
    ['qkv', BT * 3 * C],
    ['atty', BT * C],
    ['att', B * NH * T * T],
    ['res2', BT * C],
    ['ln2', BT * C],
    ['ln2Mean', BT],
    ['ln2Rstd', BT],
    ['fch', BT * 4 * C],
    ['fchGelu', BT * 4 * C],
    ['res3', BT * C],
  ];
}

/** The layer whose name a block's view is planned under: with recompute all but res3 are shared (layer 0's). */
const owner = (recompute: boolean, l: number, k: keyof BlockActs): number => (recompute && k !== 'res3' ? 0 : l);

/** The forward buffer's named parts (float elements) for a micro-batch (B,T). */
function forwardSizes(c: GPT2Config, B: number, T: number, recompute: boolean): [string, number][] {
  const { nLayer: L, nHead: NH, nEmbd: C } = c;
  const BT = B * T;
  const sizes: [string, number][] = [
    ['encoded', BT * C],
    ['preatt', B * NH * T * T],
    ['lnf', BT * C],
    ['lnfMean', BT],
    ['lnfRstd', BT],
  ];
  const perBlock = blockSizes(c, B, T);
  for (let l = 0; l < L; l++) for (const [k, n] of perBlock) if (owner(recompute, l, k) === l) sizes.push([`${l}.${k}`, n]);
  return sizes;
}

export function planForward(c: GPT2Config, B: number, T: number, alloc: Allocator, recompute = false): ForwardActs {
  const L = c.nLayer;
  const perBlock = blockSizes(c, B, T);
  const v = carve(alloc, forwardSizes(c, B, T, recompute));
  const blocks: BlockActs[] = [];
  for (let l = 0; l < L; l++) {
    blocks.push(Object.fromEntries(perBlock.map(([k]) => [k, v[`${owner(recompute, l, k)}.${k}`]])) as unknown as BlockActs);
  }
  return {
    B,
    T,
    encoded: v.encoded,
    blocks,
    preatt: v.preatt,
    lnf: v.lnf,
    lnfMean: v.lnfMean,
    lnfRstd: v.lnfRstd,
    recompute,
  };
}

/** The LM head over n rows (every position for inference, only the positions with a loss in training). */
export interface HeadActs {
  /** Rows the buffers hold. */
  rows: number;
  x: FloatArray; // (n,C)  final-LayerNorm output of the rows (gathered when not every position counts)
  probs: FloatArray; // (n,V)  logits, softmaxed in place when targets are given
  losses: FloatArray; // (n)
  dprobs: FloatArray | null; // (n,V)  dlogits, planned on the first backward
  dx: FloatArray | null; // (n,C)
  dlosses: FloatArray | null; // (n)
}

function headSizes(c: GPT2Config, rows: number): [string, number][] {
  return [
    ['x', rows * c.nEmbd],
    ['probs', rows * c.vocabSize],
    ['losses', rows],
  ];
}

export function planHead(c: GPT2Config, rows: number, alloc: Allocator): HeadActs {
  const v = carve(alloc, headSizes(c, rows));
  return { rows, x: v.x, probs: v.probs, losses: v.losses, dprobs: null, dx: null, dlosses: null };
}

/** Adds the backward buffers of a head plan. */
export function planHeadBackward(c: GPT2Config, h: HeadActs, alloc: Allocator): void {
  const v = carve(alloc, headSizes(c, h.rows).map(([k, n]) => [`d${k}`, n]));
  h.dprobs = v.dprobs;
  h.dx = v.dx;
  h.dlosses = v.dlosses;
}

/** Backward scratch, reused by every block. */
export interface BackwardActs {
  dres: FloatArray; // (B,T,C)  gradient of the residual stream, accumulated in place
  dtmp: FloatArray; // (B,T,C)  dln1 / dln2 / datty / dlnf
  dqkv: FloatArray; // (B,T,3C)
  dfch: FloatArray; // (B,T,4C)
  dfchGelu: FloatArray; // (B,T,4C)
  dpreatt: FloatArray; // (B,NH,T,T)
  datt: FloatArray; // (B,NH,T,T)
  /** (2C) sink for the LayerNorm gradients of frozen blocks (the kernel always accumulates them). */
  discard: FloatArray;
}

function backwardSizes(c: GPT2Config, B: number, T: number): [keyof BackwardActs, number][] {
  const { nHead: NH, nEmbd: C } = c;
  const BT = B * T;
  return [
    ['dres', BT * C],
    ['dtmp', BT * C],
    ['dqkv', BT * 3 * C],
    ['dfch', BT * 4 * C],
    ['dfchGelu', BT * 4 * C],
    ['dpreatt', B * NH * T * T],
    ['datt', B * NH * T * T],
    ['discard', 2 * C],
  ];
}

export function planBackward(c: GPT2Config, B: number, T: number, alloc: Allocator): BackwardActs {
  return carve<keyof BackwardActs>(alloc, backwardSizes(c, B, T));
}

/**
 * Float elements of the forward + backward activation buffers of training at micro-batch (B,T), with the LM
 * head on `headRows` rows (default B·T: pre-training; fine-tuning counts only positions with a loss).
 */
export function activationFloats(c: GPT2Config, B: number, T: number, opts: { recompute?: boolean; headRows?: number } = {}): number {
  const sum = (xs: [string, number][]) => xs.reduce((n, [, s]) => n + s, 0);
  return sum(forwardSizes(c, B, T, opts.recompute ?? false)) + sum(backwardSizes(c, B, T)) + 2 * sum(headSizes(c, opts.headRows ?? B * T));
}
