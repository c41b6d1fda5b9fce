// Zeroth-order SGD (MeZO: Malladi et al. 2023, "Fine-Tuning Language Models with Just Forward Passes"; as in
// PocketLLM): per perturbation k, z ~ N(0,1) from a seed, g = (L(θ+εz) − L(θ−εz)) / 2ε, then θ −= lr·g·z.
// z is never stored: it is regenerated from its seed for +εz, −2εz, +εz and the update, so memory is that of
// inference. To make the round trip exact, each tensor lives on a power-of-two grid q during the step (θ and
// every ±εz snapped to multiples of q, with headroom so all sums are exact in the array's float format).
import type { FloatArray } from '../kernels/types.js';
import type { TensorEntry } from '../models/gpt2/params.js';
import { Rng } from '../util/rng.js';

/** Largest |z| Box-Muller can give from 32-bit uniforms (√(−2 ln 2⁻³²) ≈ 6.66), rounded up. */
const Z_MAX = 6.7;

/** The seed of perturbation k of a step: a hash of the run seed, the step and k. */
export function zoSeed(seed: number, step: number, k: number): number {
  let h = (seed ^ 0x2545f491) >>> 0;
  for (const w of [step, k]) {
    h = Math.imul(h ^ w, 0x01000193) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
  }
  return h >>> 0;
}

/** Fills z with standard normals drawn from rng (Box-Muller, both outputs of each pair): the same seed, the same z. */
export function normals(rng: Rng, z: Float64Array): void {
  for (let i = 0; i < z.length; i += 2) {
    let u = rng.random();
    while (u === 0) u = rng.random();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rng.random();
    z[i] = r * Math.cos(a);
    if (i + 1 < z.length) z[i + 1] = r * Math.sin(a);
  }
}

/** Normals drawn per chunk (keeps the scratch small on 124M parameters). */
const CHUNK = 1 << 16;

/**
 * The trainable tensors of a zeroth-order fine-tune (views into one buffer) and their grids. A step is
 * `grid(ε)`, then per perturbation `perturb(seed, ε, +1)`, loss, `perturb(seed, ε, −2)`, loss,
 * `perturb(seed, ε, +1)` (θ restored bit for bit), and finally `update(seed, −lr·g/n)` for each.
 */
export class ZoPerturbation {
  /** Per tensor: the grid step q (a power of two). */
  private readonly quanta: Float64Array;
  private readonly z = new Float64Array(CHUNK);
  /** Significand bits of the buffer's float format minus one (23 for float32, 52 for float64). */
  private readonly bits: number;

  constructor(
    readonly params: FloatArray,
    readonly tensors: readonly TensorEntry[],
  ) {
    this.quanta = new Float64Array(tensors.length);
    this.bits = params instanceof Float64Array ? 52 : 23;
  }

  /**
   * Chooses each tensor's grid for perturbations up to ε·|z| and snaps the tensor onto it (a no-op when it
   * is already there): q = 2^(⌈log2(max|θ| + 2ε·Z_MAX)⌉ − bits), so every θ ± k·q reached is exact.
   */
  grid(eps: number): void {
    this.tensors.forEach((e, t) => {
      const w = this.params.subarray(e.offset, e.offset + e.size);
      let max = 0;
      for (let i = 0; i < w.length; i++) max = Math.max(max, Math.abs(w[i]));
      const q = 2 ** (Math.ceil(Math.log2(max + 2 * eps * Z_MAX)) - this.bits);
      this.quanta[t] = q;
      for (let i = 0; i < w.length; i++) w[i] = Math.round(w[i] / q) * q;
    });
  }

  /** θ += times·ε·z(seed), with ε·z rounded to its tensor's grid first (call grid(ε) first): exact and reversible. */
  perturb(seed: number, eps: number, times: number): void {
    this.walk(seed, eps, times);
  }

  /** θ += scale·z(seed) (the update; rounded as the buffer's float format rounds, the next grid() snaps it). */
  update(seed: number, scale: number): void {
    this.walk(seed, 0, scale);
  }

  /** With eps > 0: θ += c·round(eps·z/q)·q per tensor; with eps = 0: θ += c·z. */
  private walk(seed: number, eps: number, c: number): void {
    const rng = new Rng(seed);
    const z = this.z;
    let todo = this.tensors.reduce((n, e) => n + e.size, 0); // normals still to draw
    let chunk = z;
    let left = 0; // normals left in chunk
    this.tensors.forEach((e, t) => {
      const q = this.quanta[t];
      const w = this.params.subarray(e.offset, e.offset + e.size);
      for (let i = 0; i < w.length; i++) {
        if (left === 0) {
          chunk = todo < z.length ? z.subarray(0, todo + (todo & 1)) : z;
          normals(rng, chunk);
          left = chunk.length;
          todo -= left;
        }
        const zi = chunk[chunk.length - left--];
        w[i] += eps > 0 ? c * Math.round((eps * zi) / q) * q : c * zi;
      }
    });
  }
}
