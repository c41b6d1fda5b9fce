// LoRA adapters (Hu et al. 2021, "Low-Rank Adaptation of Large Language Models") for GPT-2's linear layers,
// as PEFT's lora.Linear computes them: y = W·x + b + (alpha/r)·B·(A·dropout(x)), A (r, in) Kaiming-uniform,
// B (out, r) zero. All adapter weights live in ONE flat buffer with named views (gradients in a second of
// the same layout); the model calls forward/backward through its LinearHook right after each base layer.
import type { FloatArray, Kernels } from '../kernels/types.js';
import type { GPT2Config } from '../models/gpt2/config.js';
import type { GPT2, LinearHook, LinearSite } from '../models/gpt2/model.js';
import type { Allocator, TensorEntry } from '../models/gpt2/params.js';
import { Rng } from '../util/rng.js';
import { dropout, fmix32, keepScale } from '../models/gpt2/dropout.js';
import { LORA_SITES, type LoraConfig } from './method.js';

/** (in, out) features of a linear site for a model width C. */
export function siteShape(site: LinearSite, C: number): { IC: number; OC: number } {
  switch (site) {
    case 'attn.c_attn':
      return { IC: C, OC: 3 * C };
    case 'attn.c_proj':
      return { IC: C, OC: C };
    case 'mlp.c_fc':
      return { IC: C, OC: 4 * C };
    case 'mlp.c_proj':
      return { IC: 4 * C, OC: C };
  }
}

/** An adapter tensor: where it lives in the buffer and which layer it adapts. */
export interface LoraEntry extends TensorEntry {
  layer: number;
  site: LinearSite;
}

/** Adapter tensors in buffer order: per block, per target site, 'h.<l>.<site>.lora_A' (r, in) then 'lora_B' (out, r). */
export function loraTable(model: GPT2Config, lora: LoraConfig): LoraEntry[] {
  const out: LoraEntry[] = [];
  let offset = 0;
  for (let l = 0; l < model.nLayer; l++) {
    for (const site of LORA_SITES.filter((s) => lora.targets.includes(s))) {
      const { IC, OC } = siteShape(site, model.nEmbd);
      for (const [ab, shape] of [['A', [lora.r, IC]], ['B', [OC, lora.r]]] as const) {
        const size = shape[0] * shape[1];
        out.push({ name: `h.${l}.${site}.lora_${ab}`, shape: [...shape], offset, size, layer: l, site });
        offset += size;
      }
    }
  }
  return out;
}

interface SiteViews {
  A: FloatArray; // (r, IC)
  B: FloatArray; // (OC, r)
  dA: FloatArray | null;
  dB: FloatArray | null;
  /** Distinct per (layer, site): mixes into the dropout hash. */
  salt: number;
}

export class LoraAdapters implements LinearHook {
  readonly table: LoraEntry[];
  /** Every adapter weight, in `table` order. */
  readonly params: FloatArray;
  /** Gradients in the same layout (allocated by ensureGrads). */
  grads: FloatArray | null = null;
  /** alpha / r. */
  readonly scaling: number;
  /** Dropout on while true (the fine-tuner sets it around training passes). */
  training = false;
  /** Seed of the current pass's dropout masks: the same seed gives the same masks (backward and recompute rely on it). */
  dropoutSeed = 0;
  kernels: Kernels | null = null;
  private readonly sites = new Map<string, SiteViews>();
  private readonly byName: Map<string, FloatArray>;
  private scratch: { n: number; h: FloatArray; dh: FloatArray; xd: FloatArray | null; dx: FloatArray | null } | null = null;

  constructor(
    readonly modelConfig: GPT2Config,
    readonly config: LoraConfig,
    readonly alloc: Allocator,
    /** Seed of the A initialisation; null leaves A and B zero (to be loaded). */
    seed: number | null = 1337,
  ) {
    this.table = loraTable(modelConfig, config);
    const last = this.table[this.table.length - 1];
    this.params = alloc(last.offset + last.size);
    this.byName = new Map(this.table.map((e) => [e.name, this.params.subarray(e.offset, e.offset + e.size)]));
    this.scaling = config.alpha / config.r;
    if (seed !== null) this.initialize(new Rng(seed));
    this.index();
  }

  /** PEFT's init: A ~ kaiming_uniform(a=√5) = U(−1/√in, 1/√in), B = 0, so the adapted model starts as the base. */
  initialize(rng: Rng): void {
    for (const e of this.table) {
      const t = this.params.subarray(e.offset, e.offset + e.size);
      if (e.name.endsWith('lora_B')) t.fill(0);
      else {
        const bound = 1 / Math.sqrt(e.shape[1]);
        for (let i = 0; i < t.length; i++) t[i] = (2 * rng.random() - 1) * bound;
      }
    }
  }

  get size(): number {
    return this.params.length;
  }

  /** The view of one adapter tensor, e.g. 'h.0.attn.c_attn.lora_A'. */
  get(name: string): FloatArray {
    const t = this.byName.get(name);
    if (!t) throw new Error(`no LoRA tensor named '${name}' (names look like 'h.0.attn.c_attn.lora_A')`);
    return t;
  }

  ensureGrads(): FloatArray {
    if (!this.grads) {
      this.grads = this.alloc(this.params.length);
      this.index();
    }
    return this.grads;
  }

  /** Makes this adapter the model's linear hook (the model's kernels run it). */
  attach(model: GPT2): void {
    const c = model.config;
    if (c.nLayer !== this.modelConfig.nLayer || c.nEmbd !== this.modelConfig.nEmbd) {
      throw new Error(`LoRA adapter for nLayer=${this.modelConfig.nLayer} nEmbd=${this.modelConfig.nEmbd} cannot attach to a model with nLayer=${c.nLayer} nEmbd=${c.nEmbd}`);
    }
    this.kernels = model.kernels;
    model.hook = this;
  }

  private index(): void {
    let salt = 0;
    for (let i = 0; i < this.table.length; i += 2) {
      const a = this.table[i];
      const b = this.table[i + 1];
      const key = a.name.slice(0, -'.lora_A'.length);
      const g = this.grads;
      this.sites.set(key, {
        A: this.params.subarray(a.offset, a.offset + a.size),
        B: this.params.subarray(b.offset, b.offset + b.size),
        dA: g ? g.subarray(a.offset, a.offset + a.size) : null,
        dB: g ? g.subarray(b.offset, b.offset + b.size) : null,
        salt: fmix32(++salt * 0x9e3779b1),
      });
    }
  }

  /** Scratch for n rows (grown when needed). */
  private scratchFor(N: number): NonNullable<LoraAdapters['scratch']> {
    if (!this.scratch || this.scratch.n < N) {
      const r = this.config.r;
      const wide = N * 4 * this.modelConfig.nEmbd;
      const drop = this.config.dropout > 0;
      this.scratch = { n: N, h: this.alloc(N * r), dh: this.alloc(N * r), xd: drop ? this.alloc(wide) : null, dx: drop ? this.alloc(wide) : null };
    }
    return this.scratch;
  }

  /** Plans scratch for passes of up to N rows (call with the largest first: arena memory is not reused). */
  reserve(N: number): void {
    this.scratchFor(N);
  }

  private get dropping(): boolean {
    return this.training && this.config.dropout > 0;
  }

  /** Inverted-dropout multiplier of element i: 0 (dropped) or 1/(1−p); deterministic in (dropoutSeed, site, i). */
  private keepScale(salt: number, i: number): number {
    return keepScale(this.dropoutSeed ^ salt, i, this.config.dropout);
  }

  /** xd = dropout(inp) over n values. */
  private dropped(v: SiteViews, inp: FloatArray, n: number, xd: FloatArray): FloatArray {
    dropout(xd, inp, n, this.config.dropout, this.dropoutSeed ^ v.salt);
    return xd;
  }

  forward(layer: number, site: LinearSite, out: FloatArray, inp: FloatArray, N: number, IC: number, OC: number): void {
    const v = this.sites.get(`h.${layer}.${site}`);
    if (!v) return;
    const k = this.kernels as Kernels;
    const r = this.config.r;
    const s = this.scratchFor(N);
    const x = this.dropping ? this.dropped(v, inp, N * IC, s.xd as FloatArray) : inp;
    const h = s.h.subarray(0, N * r);
    k.matmul(h, x, v.A, N, IC, r, false, true, false); // (N,IC)·Aᵀ -> (N,r)
    for (let i = 0; i < h.length; i++) h[i] *= this.scaling;
    k.matmul(out, h, v.B, N, r, OC, false, true, true); // out += (N,r)·Bᵀ
  }

  backward(layer: number, site: LinearSite, dinp: FloatArray, dout: FloatArray, inp: FloatArray, N: number, IC: number, OC: number): void {
    const v = this.sites.get(`h.${layer}.${site}`);
    if (!v) return;
    if (!v.dA || !v.dB) throw new Error('LoraAdapters.backward: call ensureGrads() first');
    const k = this.kernels as Kernels;
    const r = this.config.r;
    const s = this.scratchFor(N);
    const x = this.dropping ? this.dropped(v, inp, N * IC, s.xd as FloatArray) : inp;
    const h = s.h.subarray(0, N * r);
    const dh = s.dh.subarray(0, N * r);
    k.matmul(h, x, v.A, N, IC, r, false, true, false); // recomputed: h = x·Aᵀ (N,r)
    for (let i = 0; i < h.length; i++) h[i] *= this.scaling;
    k.matmul(v.dB, dout, h, OC, N, r, true, false, true); // dB (OC,r) += doutᵀ·(s·h)
    k.matmul(dh, dout, v.B, N, OC, r, false, false, false); // (N,OC)·B -> (N,r)
    for (let i = 0; i < dh.length; i++) dh[i] *= this.scaling;
    k.matmul(v.dA, dh, x, r, N, IC, true, false, true); // dA (r,IC) += dhᵀ·x
    if (!this.dropping) {
      k.matmul(dinp, dh, v.A, N, r, IC, false, false, true); // dinp += dh·A
      return;
    }
    const dx = (s.dx as FloatArray).subarray(0, N * IC);
    k.matmul(dx, dh, v.A, N, r, IC, false, false, false);
    for (let i = 0; i < N * IC; i++) dinp[i] += dx[i] * this.keepScale(v.salt, i);
  }
}
