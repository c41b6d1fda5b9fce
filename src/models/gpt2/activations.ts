// Activation memory of GPT-2 training, planned as in llm.c: ONE buffer for everything the forward pass
// saves for backward (sized for a micro-batch B×T) and ONE buffer of backward scratch reused by every
// layer (the gradient flowing down the residual stream is accumulated in place, so no per-layer copies).
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
  probs: FloatArray; // (B,T,V)  logits, softmaxed in place when targets are given
  losses: FloatArray; // (B,T)
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

/** The forward buffer's named parts (float elements) for a micro-batch (B,T). */
function forwardSizes(c: GPT2Config, B: number, T: number): [string, number][] {
  const { nLayer: L, nHead: NH, nEmbd: C, vocabSize: V } = c;
  const BT = B * T;
  const sizes: [string, number][] = [
    ['encoded', BT * C],
    ['preatt', B * NH * T * T],
    ['lnf', BT * C],
    ['lnfMean', BT],
    ['lnfRstd', BT],
    ['probs', BT * V],
    ['losses', BT],
  ];
  const perBlock = blockSizes(c, B, T);
  for (let l = 0; l < L; l++) for (const [k, n] of perBlock) sizes.push([`${l}.${k}`, n]);
  return sizes;
}

export function planForward(c: GPT2Config, B: number, T: number, alloc: Allocator): ForwardActs {
  const L = c.nLayer;
  const perBlock = blockSizes(c, B, T);
  const sizes = forwardSizes(c, B, T);
  const v = carve(alloc, sizes);
  const blocks: BlockActs[] = [];
  for (let l = 0; l < L; l++) {
    blocks.push(Object.fromEntries(perBlock.map(([k]) => [k, v[`${l}.${k}`]])) as unknown as BlockActs);
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
    probs: v.probs,
    losses: v.losses,
  };
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
  dlogits: FloatArray; // (B,T,V)
  dlosses: FloatArray; // (B,T)
}

function backwardSizes(c: GPT2Config, B: number, T: number): [keyof BackwardActs, number][] {
  const { nHead: NH, nEmbd: C, vocabSize: V } = c;
  const BT = B * T;
  return [
    ['dres', BT * C],
    ['dtmp', BT * C],
    ['dqkv', BT * 3 * C],
    ['dfch', BT * 4 * C],
    ['dfchGelu', BT * 4 * C],
    ['dpreatt', B * NH * T * T],
    ['datt', B * NH * T * T],
    ['dlogits', BT * V],
    ['dlosses', BT],
  ];
}

export function planBackward(c: GPT2Config, B: number, T: number, alloc: Allocator): BackwardActs {
  return carve<keyof BackwardActs>(alloc, backwardSizes(c, B, T));
}

/** Float elements of the forward + backward activation buffers of training at micro-batch (B,T). */
export function activationFloats(c: GPT2Config, B: number, T: number): number {
  const sum = (xs: [string, number][]) => xs.reduce((n, [, s]) => n + s, 0);
  return sum(forwardSizes(c, B, T)) + sum(backwardSizes(c, B, T));
}
