// GPT-2 ("Language Models are Unsupervised Multitask Learners", Radford et al. 2019) for training, after
// llm.c's train_gpt2.c: learned position embeddings, pre-LayerNorm blocks, causal self-attention, GELU MLP of
// width 4C, final LayerNorm, LM head tied to wte. Flat arrays, every heavy loop through `Kernels`; the same
// code runs in float32 (arena) or float64 (ref kernels, gradient checks) depending on the allocator.
// Fine-tuning hooks: the LM head runs only on positions with a loss, backward writes into caller-chosen
// gradient views (frozen tensors get none and backward stops at the lowest trained block), and an optional
// LinearHook (LoRA) adds to the four linear layers of every block. A frozen base (e.g. int8 from a .tllm file)
// holds the LM head/embedding and the linear weights outside the parameter buffer: forward multiplies them as
// stored, backward gives the input gradient only (no weight gradients: only adapters train). Dropout, when set,
// drops the embeddings and each block's two residual branches (Hugging Face embd_pdrop / resid_pdrop).
import { getKernels } from '../../kernels/index.js';
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { UserError } from '../../util/errors.js';
import { deriveSeed, Rng } from '../../util/rng.js';
import type { OpProfiler } from '../profile.js';
import { dropout } from './dropout.js';
import { planBackward, planForward, planHead, planHeadBackward, type BackwardActs, type ForwardActs, type HeadActs } from './activations.js';
import { LN_EPS, numParams, validateConfig, type GPT2Config } from './config.js';
import { embedRows, matmulW, matmulWBackward, type Matrix } from './matrix.js';
import { arenaF32, ParamBuffer, tensorTable, type Allocator, type BlockTensors } from './params.js';

export { LN_EPS } from './config.js';
export const INIT_STD = 0.02;

/** The four linear layers of a block, by their Hugging Face module names. */
export type LinearSite = 'attn.c_attn' | 'attn.c_proj' | 'mlp.c_fc' | 'mlp.c_proj';

/**
 * A trainable add-on to the linear layers (LoRA): the model calls it right after each base linear layer,
 * forward and backward, for every block and site. inp(N,IC) is the layer's input, out/dout (N,OC).
 */
export interface LinearHook {
  /** out(N,OC) += f(inp). */
  forward(layer: number, site: LinearSite, out: FloatArray, inp: FloatArray, N: number, IC: number, OC: number): void;
  /** dinp(N,IC) += (∂f/∂inp)ᵀ·dout, and the hook's own parameter gradients += scale-free ∂/∂θ (dout already carries the loss scale). */
  backward(layer: number, site: LinearSite, dinp: FloatArray, dout: FloatArray, inp: FloatArray, N: number, IC: number, OC: number): void;
}

/**
 * Where backward writes parameter gradients (accumulating), per tensor; null = frozen, its gradient is
 * never computed. `model.grads.tensors` with lowestBlock 0 is full training.
 */
export interface GradTargets {
  wte: FloatArray | null;
  wpe: FloatArray | null;
  lnfw: FloatArray | null;
  lnfb: FloatArray | null;
  /** Per block: gradient views of all its tensors, or null when the block is frozen. */
  h: (BlockTensors | null)[];
  /** Backward stops inside this block: nothing below it is computed (> 0 means the embeddings get no gradient). */
  lowestBlock: number;
}

/** The four linear weight matrices of a block. */
export interface LinearMatrices {
  qkvw: Matrix; // (3C, C)
  attprojw: Matrix; // (C, C)
  fcw: Matrix; // (4C, C)
  fcprojw: Matrix; // (C, 4C)
}

/** Frozen matrices held outside the parameter buffer: the token embedding / tied LM head and every block's linear weights. */
export interface FrozenBase {
  wte: Matrix; // (V, C)
  h: LinearMatrices[];
}

/** Parameter names a frozen base holds (absent from the model's parameter buffer). */
export function frozenNames(nLayer: number): Set<string> {
  const out = new Set(['wte.weight']);
  for (let l = 0; l < nLayer; l++) for (const site of ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj']) out.add(`h.${l}.${site}.weight`);
  return out;
}

export interface GPT2Options {
  /** Kernel set; default getKernels() (the process default). */
  kernels?: Kernels;
  /** Buffer allocator; default: float32 views in the shared arena. Use plainF64 with `ref` for gradient checks. */
  alloc?: Allocator;
  /** Seed of the N(0, 0.02) initialisation; pass `null` to leave the weights at zero (they will be loaded). */
  seed?: number | null;
  /** Matrices held frozen outside the parameter buffer (e.g. int8 from a .tllm file); the buffer then holds only the rest. */
  frozen?: FrozenBase;
}

/** A linear layer's weight and bias. */
interface Site {
  w: Matrix;
  b: FloatArray;
}

export class GPT2 {
  readonly config: GPT2Config;
  readonly params: ParamBuffer;
  /** Parameter gradients, same layout as params; allocated on the first backward (or by ensureGrads). */
  grads: ParamBuffer | null = null;
  kernels: Kernels;
  /** Set to an OpProfiler to get a per-op time breakdown of forward and backward. */
  profiler: OpProfiler | null = null;
  /** Added to every block's linear layers (LoRA), or null. */
  hook: LinearHook | null = null;
  /** Gradient destinations for fine-tuning; null = all parameters into `grads` (pre-training). */
  gradTargets: GradTargets | null = null;
  /** Keep only block outputs in forward and recompute each block in backward (less memory, one more forward). */
  recompute = false;
  /**
   * Dropout of the next forward/backward, or null (off: inference, validation). p drops the embeddings and the
   * output of every attention and MLP branch before its residual add; the masks follow from `seed` alone.
   */
  dropout: { p: number; seed: number } | null = null;
  readonly alloc: Allocator;
  /** The frozen base, or null when every weight lives in `params`. */
  readonly frozen: FrozenBase | null;
  /** Token embedding / LM head (V,C) as multiplied. */
  private readonly wte: Matrix;
  /** Per block, its linear layers by site. */
  private readonly sites: Record<LinearSite, Site>[];
  private acts: ForwardActs | null = null;
  private dacts: BackwardActs | null = null;
  private head: HeadActs | null = null;
  /** Positions (b·T+t) whose target counts, when not all of them do. */
  private rowIndex: Int32Array | null = null;
  /** Shape and counted positions of the last forward with targets (what backward differentiates). */
  private last: { B: number; T: number; inputs: Int32Array; targets: Int32Array; count: number; all: boolean } | null = null;

  constructor(config: GPT2Config, opts: GPT2Options = {}) {
    validateConfig(config);
    this.config = { ...config };
    this.kernels = opts.kernels ?? getKernels();
    this.alloc = opts.alloc ?? arenaF32;
    this.frozen = opts.frozen ?? null;
    if (this.frozen && this.frozen.h.length !== this.config.nLayer) throw new Error(`GPT2: the frozen base has ${this.frozen.h.length} blocks, the config ${this.config.nLayer}`);
    this.params = new ParamBuffer(this.config, this.alloc, this.frozen ? frozenNames(this.config.nLayer) : undefined);
    const f32 = (w: FloatArray): Matrix => ({ kind: 'f32', w });
    const p = this.params.tensors;
    this.wte = this.frozen?.wte ?? f32(p.wte);
    this.sites = p.h.map((b, l) => {
      const m = this.frozen?.h[l] ?? { qkvw: f32(b.qkvw), attprojw: f32(b.attprojw), fcw: f32(b.fcw), fcprojw: f32(b.fcprojw) };
      return {
        'attn.c_attn': { w: m.qkvw, b: b.qkvb },
        'attn.c_proj': { w: m.attprojw, b: b.attprojb },
        'mlp.c_fc': { w: m.fcw, b: b.fcb },
        'mlp.c_proj': { w: m.fcprojw, b: b.fcprojb },
      };
    });
    if (opts.seed !== null) this.initWeights(new Rng(opts.seed ?? 1337));
  }

  /** The token embedding / LM head (V,C) as the model multiplies it (f32 view, or the frozen base's). */
  get lmHead(): Matrix {
    return this.wte;
  }

  /**
   * Copies values [start, start + out.length) of the whole parameter vector in paramSpecs order into out, frozen
   * matrices dequantized (checkpoints of a model with a frozen base are full f32 checkpoints).
   */
  readParams(start: number, out: Float32Array): void {
    if (!this.frozen) {
      out.set(this.params.data.subarray(start, start + out.length));
      return;
    }
    this.overlaps(start, out.length, (name, from, to, at) => {
      const m = this.frozenMatrix(name);
      if (!m) out.set(this.params.get(name).subarray(from, to), at);
      else if (m.kind === 'f32') out.set(m.w.subarray(from, to), at);
      else {
        const cols = this.config.nEmbd * (name.endsWith('mlp.c_proj.weight') ? 4 : 1);
        const nb = Math.ceil(cols / m.block);
        for (let e = from; e < to; e++) out[at + e - from] = m.q[e] * m.scales[Math.floor(e / cols) * nb + Math.floor((e % cols) / m.block)];
      }
    });
  }

  /** Sets values [start, start + src.length) of the whole parameter vector (paramSpecs order); frozen matrices' values are skipped. */
  writeParams(start: number, src: Float32Array): void {
    if (!this.frozen) {
      this.params.data.set(src, start);
      return;
    }
    this.overlaps(start, src.length, (name, from, to, at) => {
      if (!this.frozenMatrix(name)) this.params.get(name).set(src.subarray(at, at + to - from), from);
    });
  }

  /** Calls f(tensor, first, end, at) for each tensor overlapping [start, start + n) of the whole parameter vector. */
  private overlaps(start: number, n: number, f: (name: string, from: number, to: number, at: number) => void): void {
    for (const e of tensorTable(this.config)) {
      const lo = Math.max(start, e.offset);
      const hi = Math.min(start + n, e.offset + e.size);
      if (lo < hi) f(e.name, lo - e.offset, hi - e.offset, lo - start);
    }
  }

  private frozenMatrix(name: string): Matrix | null {
    const f = this.frozen;
    if (!f) return null;
    if (name === 'wte.weight') return f.wte;
    const m = /^h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.weight$/.exec(name);
    return m ? this.sites[Number(m[1])][m[2] as LinearSite].w : null;
  }

  get numParams(): number {
    return numParams(this.config);
  }

  /** GPT-2 init: weights N(0, 0.02), residual projections N(0, 0.02/√(2·nLayer)), biases 0, LayerNorm gain 1. */
  initWeights(rng: Rng): void {
    const residualStd = INIT_STD / Math.sqrt(2 * this.config.nLayer);
    for (const e of this.params.table) {
      const t = this.params.data.subarray(e.offset, e.offset + e.size);
      if (e.shape.length === 2) {
        const std = e.name.endsWith('c_proj.weight') ? residualStd : INIT_STD;
        for (let i = 0; i < t.length; i++) t[i] = rng.normal(0, std);
      } else {
        t.fill(/^(ln_\d|ln_f)\.weight$/.test(e.name.replace(/^h\.\d+\./, '')) ? 1 : 0);
      }
    }
  }

  ensureGrads(): ParamBuffer {
    this.grads ??= new ParamBuffer(this.config, this.alloc);
    return this.grads;
  }

  zeroGrad(): void {
    this.grads?.data.fill(0);
  }

  /**
   * Forward activations for (B,T), planned on first use and re-planned only when B·T or T grows (or the
   * recompute setting changes). Call reserve() with the largest shape first: arena memory is not reused.
   */
  private plan(B: number, T: number): ForwardActs {
    const a = this.acts;
    if (!a || B * T > a.B * a.T || T > a.T || a.recompute !== this.recompute) {
      this.acts = planForward(this.config, B, T, this.alloc, this.recompute);
      this.dacts = null;
    }
    return this.acts as ForwardActs;
  }

  /** LM-head buffers for n rows (grown when needed). */
  private planHead(n: number): HeadActs {
    if (!this.head || this.head.rows < n) this.head = planHead(this.config, n, this.alloc);
    return this.head;
  }

  /** Plans activations (and, with training, backward scratch) for the largest (B,T) and LM-head rows to come. */
  reserve(B: number, T: number, headRows = B * T, training = true): void {
    const a = this.plan(B, T);
    const h = this.planHead(headRows);
    if (training) {
      this.dacts ??= planBackward(this.config, a.B, a.T, this.alloc);
      if (!h.dprobs) planHeadBackward(this.config, h, this.alloc);
    }
  }

  /** Number of counted targets of the last forward with targets. */
  get lastCount(): number {
    return this.last?.count ?? 0;
  }

  /**
   * Runs the model on inputs (B,T) of token ids. With targets (B,T) (negative = ignored) it returns the mean
   * cross-entropy over the counted targets and keeps what backward() needs; without, it returns NaN and
   * logits() holds the logits.
   */
  forward(inputs: Int32Array, targets: Int32Array | null, B: number, T: number): number {
    const { nLayer: L, nEmbd: C, vocabSize: V, blockSize } = this.config;
    const BT = B * T;
    if (T > blockSize) throw new UserError(`sequence length ${T} exceeds the model's block size ${blockSize}; use --seq ≤ ${blockSize}`);
    if (inputs.length < BT || (targets && targets.length < BT)) throw new Error(`GPT2.forward: inputs/targets need B*T=${BT} tokens`);
    checkTokens(inputs, BT, V, false);
    if (targets) checkTokens(targets, BT, V, true);
    const k = this.kernels;
    const p = this.params.tensors;
    const a = this.plan(B, T);
    const prof = this.profiler;
    prof?.start();

    for (let b = 0; b < B; b++) embedRows(a.encoded.subarray(b * T * C), inputs.subarray(b * T), T, this.wte, p.wpe, 0, C); // (B,T) -> (B,T,C)
    this.drop(a.encoded, a.encoded, BT * C, 0);
    prof?.lap('encoder.fwd');
    for (let l = 0; l < L; l++) this.blockForward(l, B, T);
    const residual = L > 0 ? a.blocks[L - 1].res3 : a.encoded;
    k.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, residual, p.lnfw, p.lnfb, BT, C, LN_EPS);
    prof?.lap('layernorm.fwd');
    // LM head only on the rows with a loss: n = BT in pre-training (no copy), a few answer tokens per row in fine-tuning
    let count = BT;
    if (targets) {
      count = 0;
      for (let i = 0; i < BT; i++) if (targets[i] >= 0) count++;
    }
    const all = count === BT;
    const h = this.planHead(Math.max(1, count));
    const ht = all ? targets : this.gatherRows(h, a.lnf, targets as Int32Array, BT, count);
    if (count > 0) matmulW(k, h.probs, all ? a.lnf : h.x, this.wte, count, C, V); // (n,C) · wteᵀ -> logits (n,V)
    prof?.lap('matmul.lmhead.fwd');
    if (!targets) {
      this.last = null;
      return NaN;
    }
    this.last = { B, T, inputs, targets, count, all };
    if (count === 0) return NaN;
    k.softmaxForward(h.probs, h.probs, count, V); // in place: logits -> probs
    k.crossEntropyForward(h.losses, h.probs, ht as Int32Array, count, V);
    let sum = 0;
    for (let i = 0; i < count; i++) sum += h.losses[i];
    prof?.lap('softmax+ce.fwd');
    return sum / count;
  }

  /** Copies the counted rows of lnf (BT,C) into h.x (n,C); returns their targets (n), kept for backward. */
  private gatherRows(h: HeadActs, lnf: FloatArray, targets: Int32Array, BT: number, n: number): Int32Array {
    const C = this.config.nEmbd;
    if (!this.rowIndex || this.rowIndex.length < 2 * n) this.rowIndex = new Int32Array(2 * Math.max(n, 16));
    const idx = this.rowIndex.subarray(0, n);
    const ht = this.rowIndex.subarray(n, 2 * n);
    let j = 0;
    for (let i = 0; i < BT; i++) {
      if (targets[i] < 0) continue;
      idx[j] = i;
      ht[j] = targets[i];
      h.x.set(lnf.subarray(i * C, (i + 1) * C), j * C);
      j++;
    }
    return ht;
  }

  /** One transformer block's forward, from the previous block's output (or the embeddings). */
  private blockForward(l: number, B: number, T: number): void {
    const { nHead: NH, nEmbd: C } = this.config;
    const BT = B * T;
    const k = this.kernels;
    const a = this.acts as ForwardActs;
    const w = this.params.tensors.h[l];
    const s = a.blocks[l];
    const residual = l > 0 ? a.blocks[l - 1].res3 : a.encoded;
    const prof = this.profiler;
    // x = x + attn(ln_1(x))
    k.layernormForward(s.ln1, s.ln1Mean, s.ln1Rstd, residual, w.ln1w, w.ln1b, BT, C, LN_EPS);
    prof?.lap('layernorm.fwd');
    this.linear(l, 'attn.c_attn', s.qkv, s.ln1, BT, C, 3 * C); // (B,T,C) -> (B,T,3C)
    prof?.lap('matmul.qkv.fwd');
    k.attentionForward(s.atty, a.preatt, s.att, s.qkv, B, T, C, NH); // (B,T,3C) -> (B,T,C)
    prof?.lap('attention.fwd');
    this.linear(l, 'attn.c_proj', s.res2, s.atty, BT, C, C); // (B,T,C) -> (B,T,C)
    prof?.lap('matmul.attproj.fwd');
    this.drop(s.res2, s.res2, BT * C, 1 + 2 * l);
    k.add(s.res2, s.res2, residual, BT * C);
    prof?.lap('residual.fwd');
    // x = x + mlp(ln_2(x))
    k.layernormForward(s.ln2, s.ln2Mean, s.ln2Rstd, s.res2, w.ln2w, w.ln2b, BT, C, LN_EPS);
    prof?.lap('layernorm.fwd');
    this.linear(l, 'mlp.c_fc', s.fch, s.ln2, BT, C, 4 * C); // (B,T,C) -> (B,T,4C)
    prof?.lap('matmul.fc.fwd');
    k.geluForward(s.fchGelu, s.fch, BT * 4 * C);
    prof?.lap('gelu.fwd');
    this.linear(l, 'mlp.c_proj', s.res3, s.fchGelu, BT, 4 * C, C); // (B,T,4C) -> (B,T,C)
    prof?.lap('matmul.fcproj.fwd');
    this.drop(s.res3, s.res3, BT * C, 2 + 2 * l);
    k.add(s.res3, s.res3, s.res2, BT * C);
    prof?.lap('residual.fwd');
  }

  /**
   * out = dropout(x) over n values at dropout site `site` (0 embeddings, 1 + 2l block l's attention branch,
   * 2 + 2l its MLP branch); with dropout off, out = x (nothing is copied when out is x). Backward calls it on
   * the gradient with the same site: the same mask and scale.
   */
  private drop(out: FloatArray, x: FloatArray, n: number, site: number): FloatArray {
    const d = this.dropout;
    if (d && d.p > 0) dropout(out, x, n, d.p, deriveSeed(d.seed, 0, site));
    else if (out !== x) out.set(x.subarray(0, n));
    return out;
  }

  /**
   * Block l's linear layer at `site`: out(N,OC) = inp·wᵀ + b (w f32 or the frozen base's), plus the hook (LoRA)
   * when one is set. The KV decoder (decode.ts) calls this too, so adapters and the frozen base apply in generation.
   */
  linear(l: number, site: LinearSite, out: FloatArray, inp: FloatArray, N: number, IC: number, OC: number): void {
    const { w, b } = this.sites[l][site];
    matmulW(this.kernels, out, inp, w, N, IC, OC);
    this.kernels.addBias(out, b, N, OC);
    this.hook?.forward(l, site, out, inp, N, IC, OC);
  }

  /**
   * Logits of the last forward() called without targets: (B,T,V) row-major (the buffer may be longer).
   * After a forward with targets it holds softmaxed rows of the counted positions only.
   */
  logits(): FloatArray {
    if (!this.head) throw new Error('GPT2.logits: call forward(inputs, null, B, T) first');
    return this.head.probs;
  }

  /**
   * Accumulates d(scale · mean loss)/dθ into grads (call zeroGrad() first; scale 1/n for n accumulated
   * micro-batches). Needs the preceding forward() with targets.
   */
  backward(scale = 1): void {
    const last = this.last;
    if (!last) throw new Error('GPT2.backward: call forward(inputs, targets, B, T) first');
    const { nLayer: L, nHead: NH, nEmbd: C, vocabSize: V } = this.config;
    const { B, T, inputs, count, all } = last;
    const BT = B * T;
    const k = this.kernels;
    const p = this.params.tensors;
    if (this.frozen && !this.gradTargets) throw new Error('GPT2.backward: a model with a frozen base trains adapters only; set gradTargets (Finetuner does)');
    const g = this.gradTargets ?? { ...this.ensureGrads().tensors, lowestBlock: 0 };
    const a = this.acts as ForwardActs;
    this.dacts ??= planBackward(this.config, a.B, a.T, this.alloc);
    const d = this.dacts;
    const h = this.head as HeadActs;
    if (!h.dprobs) planHeadBackward(this.config, h, this.alloc);
    const dprobs = h.dprobs as FloatArray;
    const dlosses = h.dlosses as FloatArray;
    const prof = this.profiler;
    prof?.start();

    // loss = Σ losses / count  ->  dlosses = scale / count on the n counted rows
    const n = count;
    if (n === 0) return; // nothing counted: no gradient
    dlosses.fill(n > 0 ? scale / n : 0, 0, n);
    dprobs.fill(0, 0, n * V);
    k.crossEntropySoftmaxBackward(dprobs, dlosses, h.probs, all ? last.targets : (this.rowIndex as Int32Array).subarray(n, 2 * n), n, V);
    prof?.lap('softmax+ce.bwd');
    // logits = x · wteᵀ, x = lnf (all rows) or its counted rows, scattered back into dlnf (B,T,C)
    if (all) {
      matmulWBackward(k, d.dtmp, dprobs, this.wte, n, C, V); // dlnf (B,T,C)
    } else {
      const dx = h.dx as FloatArray;
      matmulWBackward(k, dx, dprobs, this.wte, n, C, V); // dx (n,C)
      d.dtmp.fill(0, 0, BT * C);
      const idx = this.rowIndex as Int32Array;
      for (let j = 0; j < n; j++) d.dtmp.set(dx.subarray(j * C, (j + 1) * C), idx[j] * C);
    }
    if (g.wte) k.matmul(g.wte, dprobs, all ? a.lnf : h.x, V, n, C, true, false, true); // dwte (V,C)
    prof?.lap('matmul.lmhead.bwd');
    d.dres.fill(0, 0, BT * C);
    const lastRes = L > 0 ? a.blocks[L - 1].res3 : a.encoded;
    k.layernormBackward(d.dres, g.lnfw ?? d.discard, g.lnfb ?? d.discard, d.dtmp, lastRes, p.lnfw, a.lnfMean, a.lnfRstd, BT, C);
    prof?.lap('layernorm.bwd');

    for (let l = L - 1; l >= g.lowestBlock; l--) {
      if (a.recompute && l < L - 1) {
        this.blockForward(l, B, T); // the shared views hold the block above; bring back this one
        prof?.lap('recompute.fwd');
      }
      const w = p.h[l];
      const gw = g.h[l];
      const s = a.blocks[l];
      const residual = l > 0 ? a.blocks[l - 1].res3 : a.encoded;
      const lnw = gw ? null : d.discard; // frozen block: LayerNorm gradients go nowhere
      // d.dres holds d(res3); res3 = res2 + drop(c_proj(gelu(c_fc(ln_2(res2))))), so d(res2) = d(res3) + MLP path
      const dmlp = this.dropout ? this.drop(d.dfch, d.dres, BT * C, 2 + 2 * l) : d.dres; // d.dfch: scratch until refilled below
      this.linearBackward(l, 'mlp.c_proj', d.dfchGelu, gw?.fcprojw, gw?.fcprojb, dmlp, s.fchGelu, BT, 4 * C, C);
      prof?.lap('matmul.fcproj.bwd');
      d.dfch.fill(0, 0, BT * 4 * C);
      k.geluBackward(d.dfch, s.fch, d.dfchGelu, BT * 4 * C);
      prof?.lap('gelu.bwd');
      this.linearBackward(l, 'mlp.c_fc', d.dtmp, gw?.fcw, gw?.fcb, d.dfch, s.ln2, BT, C, 4 * C);
      prof?.lap('matmul.fc.bwd');
      k.layernormBackward(d.dres, lnw ?? gw!.ln2w, lnw ?? gw!.ln2b, d.dtmp, s.res2, w.ln2w, s.ln2Mean, s.ln2Rstd, BT, C);
      prof?.lap('layernorm.bwd');
      // d.dres holds d(res2); res2 = residual + drop(c_proj(attn(c_attn(ln_1(residual)))))
      const datt = this.dropout ? this.drop(d.dqkv, d.dres, BT * C, 1 + 2 * l) : d.dres; // d.dqkv: scratch until refilled below
      this.linearBackward(l, 'attn.c_proj', d.dtmp, gw?.attprojw, gw?.attprojb, datt, s.atty, BT, C, C);
      prof?.lap('matmul.attproj.bwd');
      d.dqkv.fill(0, 0, BT * 3 * C);
      k.attentionBackward(d.dqkv, d.dpreatt, d.datt, d.dtmp, s.qkv, s.att, B, T, C, NH);
      prof?.lap('attention.bwd');
      this.linearBackward(l, 'attn.c_attn', d.dtmp, gw?.qkvw, gw?.qkvb, d.dqkv, s.ln1, BT, C, 3 * C);
      prof?.lap('matmul.qkv.bwd');
      k.layernormBackward(d.dres, lnw ?? gw!.ln1w, lnw ?? gw!.ln1b, d.dtmp, residual, w.ln1w, s.ln1Mean, s.ln1Rstd, BT, C);
      prof?.lap('layernorm.bwd');
    }
    if (g.lowestBlock === 0 && (g.wte || g.wpe)) {
      this.drop(d.dres, d.dres, BT * C, 0);
      encoderBackward(g.wte, g.wpe, d.dres, inputs, B, T, C);
      prof?.lap('encoder.bwd');
    }
  }

  /**
   * dinp(N,IC) = dout·w (overwritten; w f32 or frozen) plus the hook's part; when the layer trains (dw given) also
   * dw(OC,IC) += doutᵀ·inp and dbias(OC) += Σ_rows dout.
   */
  private linearBackward(
    l: number,
    site: LinearSite,
    dinp: FloatArray,
    dw: FloatArray | undefined,
    dbias: FloatArray | undefined,
    dout: FloatArray,
    inp: FloatArray,
    N: number,
    IC: number,
    OC: number,
  ): void {
    matmulWBackward(this.kernels, dinp, dout, this.sites[l][site].w, N, IC, OC);
    if (dw && dbias) {
      this.kernels.matmul(dw, dout, inp, OC, N, IC, true, false, true);
      for (let r = 0; r < N; r++) {
        const o = r * OC;
        for (let j = 0; j < OC; j++) dbias[j] += dout[o + j];
      }
    }
    this.hook?.backward(l, site, dinp, dout, inp, N, IC, OC);
  }
}

/** out(N,OC) = inp(N,IC) · wᵀ + bias, w stored (OC,IC) as nn.Linear. */
export function linearForward(
  k: Kernels,
  out: FloatArray,
  inp: FloatArray,
  w: FloatArray,
  bias: FloatArray,
  N: number,
  IC: number,
  OC: number,
): void {
  k.matmul(out, inp, w, N, IC, OC, false, true, false);
  k.addBias(out, bias, N, OC);
}

/** Token ids must lie in [0, V) (targets may also be negative = ignored). */
function checkTokens(ids: Int32Array, n: number, V: number, allowIgnore: boolean): void {
  for (let i = 0; i < n; i++) {
    const t = ids[i];
    if (t >= V || (t < 0 && !allowIgnore)) {
      throw new UserError(
        `token id ${t} at position ${i} is outside the model's vocabulary [0, ${V}); the data was tokenized with a different tokenizer — re-run tinyllm prepare or set the vocabulary size to match`,
      );
    }
  }
}

/** dwte[inp[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] (either may be null: frozen) */
export function encoderBackward(dwte: FloatArray | null, dwpe: FloatArray | null, dout: FloatArray, inp: Int32Array, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = inp[b * T + t] * C;
      const pos = t * C;
      if (dwte) for (let i = 0; i < C; i++) dwte[ix + i] += dout[o + i];
      if (dwpe) for (let i = 0; i < C; i++) dwpe[pos + i] += dout[o + i];
    }
  }
}
