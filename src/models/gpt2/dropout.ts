// Inverted dropout with a counter-based mask (Srivastava et al. 2014): element i is dropped when
// fmix32(seed + i·φ) < p·2³², else scaled by 1/(1−p). The mask is a function of (seed, i) and is never stored, so
// backward, recomputed forwards and resumed runs draw the same one. GPT-2's residual and embedding dropout
// (Hugging Face resid_pdrop / embd_pdrop) and LoRA's input dropout (PEFT's lora_dropout) both use it.
import type { FloatArray } from '../../kernels/types.js';
import { UserError } from '../../util/errors.js';
import { deriveSeed } from '../../util/rng.js';

/** deriveSeed salt of the model's dropout masks ("drop"). */
const DROPOUT_SALT = 0x64726f70;

/** p, if it is a dropout probability in [0, 1) (the trainers check their setting once, up front). */
export function checkDropout(p: number): number {
  if (!(p >= 0 && p < 1)) throw new UserError(`dropout must be in [0, 1), got ${p}`);
  return p;
}

/** GPT2.dropout for one training pass: p, and masks seeded by the run seed, the step and the pass (a resumed run draws the same); null for p = 0. */
export function passDropout(p: number, runSeed: number, step: number, pass: number): { p: number; seed: number } | null {
  return p > 0 ? { p, seed: deriveSeed(runSeed, DROPOUT_SALT, step, pass) } : null;
}

/** 32-bit finalizer of MurmurHash3: a well-mixed hash of one word. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** The multiplier of element i under dropout p with mask seed `seed`: 0 (dropped) or 1/(1−p). */
export function keepScale(seed: number, i: number, p: number): number {
  return fmix32(seed + Math.imul(i, 0x9e3779b1)) / 4294967296 < p ? 0 : 1 / (1 - p);
}

/** out[i] = x[i]·keepScale(seed, i, p) for i < n (out may be x: in place). */
export function dropout(out: FloatArray, x: FloatArray, n: number, p: number, seed: number): void {
  const threshold = p * 4294967296;
  const scale = 1 / (1 - p);
  for (let i = 0; i < n; i++) out[i] = fmix32(seed + Math.imul(i, 0x9e3779b1)) < threshold ? 0 : x[i] * scale;
}
