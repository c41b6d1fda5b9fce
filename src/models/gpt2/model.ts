// GPT-2 ("Language Models are Unsupervised Multitask Learners", Radford et al. 2019) for training, after
// llm.c's train_gpt2.c: learned position embeddings, pre-LayerNorm blocks, causal self-attention, GELU MLP of
// width 4C, final LayerNorm, LM head tied to wte. Flat arrays, every heavy loop through `Kernels`; the same
// code runs in float32 (arena) or float64 (ref kernels, gradient checks) depending on the allocator.
import { getKernels } from '../../kernels/index.js';
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { UserError } from '../../util/errors.js';
import { Rng } from '../../util/rng.js';
import type { OpProfiler } from '../profile.js';
import { addBias } from './block-decode.js';
import { planBackward, planForward, type BackwardActs, type ForwardActs } from './activations.js';
import { LN_EPS, numParams, validateConfig, type GPT2Config } from './config.js';
import { arenaF32, ParamBuffer, type Allocator } from './params.js';

export { LN_EPS } from './config.js';
export const INIT_STD = 0.02;

export interface GPT2Options {
  /** Kernel set; default getKernels() (the process default). */
  kernels?: Kernels;
  /** Buffer allocator; default: float32 views in the shared arena. Use plainF64 with `ref` for gradient checks. */
  alloc?: Allocator;
  /** Seed of the N(0, 0.02) initialisation; pass `null` to leave the weights at zero (they will be loaded). */
  seed?: number | null;
}

export class GPT2 {
  readonly config: GPT2Config;
  readonly params: ParamBuffer;
  /** Parameter gradients, same layout as params; allocated on the first backward (or by ensureGrads). */
  grads: ParamBuffer | null = null;
  kernels: Kernels;
  /** Set to an OpProfiler to get a per-op time breakdown of forward and backward. */
  profiler: OpProfiler | null = null;
  readonly alloc: Allocator;
  private acts: ForwardActs | null = null;
  private dacts: BackwardActs | null = null;
  /** Shape and target count of the last forward with targets (what backward differentiates). */
  private last: { B: number; T: number; inputs: Int32Array; targets: Int32Array; count: number } | null = null;

  constructor(config: GPT2Config, opts: GPT2Options = {}) {
    validateConfig(config);
    this.config = { ...config };
    this.kernels = opts.kernels ?? getKernels();
    this.alloc = opts.alloc ?? arenaF32;
    this.params = new ParamBuffer(this.config, this.alloc);
    if (opts.seed !== null) this.initWeights(new Rng(opts.seed ?? 1337));
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

  /** Forward activations for (B,T), planned on first use and re-planned only when B·T or T grows. */
  private plan(B: number, T: number): ForwardActs {
    const a = this.acts;
    if (!a || B * T > a.B * a.T || T > a.T) {
      this.acts = planForward(this.config, B, T, this.alloc);
      this.dacts = null;
    }
    return this.acts as ForwardActs;
  }

  /**
   * Runs the model on inputs (B,T) of token ids. With targets (B,T) (negative = ignored) it returns the mean
   * cross-entropy over the counted targets and keeps what backward() needs; without, it returns NaN and
   * logits() holds the logits.
   */
  forward(inputs: Int32Array, targets: Int32Array | null, B: number, T: number): number {
    const { nLayer: L, nHead: NH, nEmbd: C, vocabSize: V, blockSize } = this.config;
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

    encoderForward(a.encoded, inputs, p.wte, p.wpe, B, T, C); // (B,T) -> (B,T,C)
    prof?.lap('encoder.fwd');
    let residual = a.encoded;
    for (let l = 0; l < L; l++) {
      const w = p.h[l];
      const s = a.blocks[l];
      // x = x + attn(ln_1(x))
      k.layernormForward(s.ln1, s.ln1Mean, s.ln1Rstd, residual, w.ln1w, w.ln1b, BT, C, LN_EPS);
      prof?.lap('layernorm.fwd');
      linearForward(k, s.qkv, s.ln1, w.qkvw, w.qkvb, BT, C, 3 * C); // (B,T,C) -> (B,T,3C)
      prof?.lap('matmul.qkv.fwd');
      k.attentionForward(s.atty, a.preatt, s.att, s.qkv, B, T, C, NH); // (B,T,3C) -> (B,T,C)
      prof?.lap('attention.fwd');
      linearForward(k, s.res2, s.atty, w.attprojw, w.attprojb, BT, C, C); // (B,T,C) -> (B,T,C)
      prof?.lap('matmul.attproj.fwd');
      k.add(s.res2, s.res2, residual, BT * C);
      prof?.lap('residual.fwd');
      // x = x + mlp(ln_2(x))
      k.layernormForward(s.ln2, s.ln2Mean, s.ln2Rstd, s.res2, w.ln2w, w.ln2b, BT, C, LN_EPS);
      prof?.lap('layernorm.fwd');
      linearForward(k, s.fch, s.ln2, w.fcw, w.fcb, BT, C, 4 * C); // (B,T,C) -> (B,T,4C)
      prof?.lap('matmul.fc.fwd');
      k.geluForward(s.fchGelu, s.fch, BT * 4 * C);
      prof?.lap('gelu.fwd');
      linearForward(k, s.res3, s.fchGelu, w.fcprojw, w.fcprojb, BT, 4 * C, C); // (B,T,4C) -> (B,T,C)
      prof?.lap('matmul.fcproj.fwd');
      k.add(s.res3, s.res3, s.res2, BT * C);
      prof?.lap('residual.fwd');
      residual = s.res3;
    }
    k.layernormForward(a.lnf, a.lnfMean, a.lnfRstd, residual, p.lnfw, p.lnfb, BT, C, LN_EPS);
    prof?.lap('layernorm.fwd');
    k.matmul(a.probs, a.lnf, p.wte, BT, C, V, false, true, false); // (B,T,C) · wteᵀ -> logits (B,T,V)
    prof?.lap('matmul.lmhead.fwd');
    if (!targets) {
      this.last = null;
      return NaN;
    }
    k.softmaxForward(a.probs, a.probs, BT, V); // in place: logits -> probs
    k.crossEntropyForward(a.losses, a.probs, targets, BT, V);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < BT; i++) {
      if (targets[i] < 0) continue;
      sum += a.losses[i];
      count++;
    }
    prof?.lap('softmax+ce.fwd');
    this.last = { B, T, inputs, targets, count };
    return count > 0 ? sum / count : NaN;
  }

  /** Logits (B,T,V) of the last forward() called without targets. */
  logits(): FloatArray {
    if (!this.acts) throw new Error('GPT2.logits: call forward(inputs, null, B, T) first');
    return this.acts.probs;
  }

  /**
   * Accumulates d(scale · mean loss)/dθ into grads (call zeroGrad() first; scale 1/n for n accumulated
   * micro-batches). Needs the preceding forward() with targets.
   */
  backward(scale = 1): void {
    const last = this.last;
    if (!last) throw new Error('GPT2.backward: call forward(inputs, targets, B, T) first');
    const { nLayer: L, nHead: NH, nEmbd: C, vocabSize: V } = this.config;
    const { B, T, inputs, targets, count } = last;
    const BT = B * T;
    const k = this.kernels;
    const p = this.params.tensors;
    const g = this.ensureGrads().tensors;
    const a = this.acts as ForwardActs;
    this.dacts ??= planBackward(this.config, a.B, a.T, this.alloc);
    const d = this.dacts;
    const prof = this.profiler;
    prof?.start();

    // loss = Σ losses / count  ->  dlosses = scale / count on counted rows
    d.dlosses.fill(count > 0 ? scale / count : 0, 0, BT);
    d.dlogits.fill(0, 0, BT * V);
    k.crossEntropySoftmaxBackward(d.dlogits, d.dlosses, a.probs, targets, BT, V);
    prof?.lap('softmax+ce.bwd');
    // logits = lnf · wteᵀ
    k.matmul(d.dtmp, d.dlogits, p.wte, BT, V, C, false, false, false); // dlnf (B,T,C)
    k.matmul(g.wte, d.dlogits, a.lnf, V, BT, C, true, false, true); // dwte (V,C)
    prof?.lap('matmul.lmhead.bwd');
    d.dres.fill(0, 0, BT * C);
    const lastRes = L > 0 ? a.blocks[L - 1].res3 : a.encoded;
    k.layernormBackward(d.dres, g.lnfw, g.lnfb, d.dtmp, lastRes, p.lnfw, a.lnfMean, a.lnfRstd, BT, C);
    prof?.lap('layernorm.bwd');

    for (let l = L - 1; l >= 0; l--) {
      const w = p.h[l];
      const gw = g.h[l];
      const s = a.blocks[l];
      const residual = l > 0 ? a.blocks[l - 1].res3 : a.encoded;
      // d.dres holds d(res3); res3 = res2 + c_proj(gelu(c_fc(ln_2(res2)))), so d(res2) = d(res3) + MLP path
      this.linearBackward(d.dfchGelu, gw.fcprojw, gw.fcprojb, d.dres, s.fchGelu, w.fcprojw, BT, 4 * C, C);
      prof?.lap('matmul.fcproj.bwd');
      d.dfch.fill(0, 0, BT * 4 * C);
      k.geluBackward(d.dfch, s.fch, d.dfchGelu, BT * 4 * C);
      prof?.lap('gelu.bwd');
      this.linearBackward(d.dtmp, gw.fcw, gw.fcb, d.dfch, s.ln2, w.fcw, BT, C, 4 * C);
      prof?.lap('matmul.fc.bwd');
      k.layernormBackward(d.dres, gw.ln2w, gw.ln2b, d.dtmp, s.res2, w.ln2w, s.ln2Mean, s.ln2Rstd, BT, C);
      prof?.lap('layernorm.bwd');
      // d.dres holds d(res2); res2 = residual + c_proj(attn(c_attn(ln_1(residual))))
      this.linearBackward(d.dtmp, gw.attprojw, gw.attprojb, d.dres, s.atty, w.attprojw, BT, C, C);
      prof?.lap('matmul.attproj.bwd');
      d.dqkv.fill(0, 0, BT * 3 * C);
      k.attentionBackward(d.dqkv, d.dpreatt, d.datt, d.dtmp, s.qkv, s.att, B, T, C, NH);
      prof?.lap('attention.bwd');
      this.linearBackward(d.dtmp, gw.qkvw, gw.qkvb, d.dqkv, s.ln1, w.qkvw, BT, C, 3 * C);
      prof?.lap('matmul.qkv.bwd');
      k.layernormBackward(d.dres, gw.ln1w, gw.ln1b, d.dtmp, residual, w.ln1w, s.ln1Mean, s.ln1Rstd, BT, C);
      prof?.lap('layernorm.bwd');
    }
    encoderBackward(g.wte, g.wpe, d.dres, inputs, B, T, C);
    prof?.lap('encoder.bwd');
  }

  /** dinp(N,IC) = dout·w (overwritten), dw(OC,IC) += doutᵀ·inp, dbias(OC) += Σ_rows dout. */
  private linearBackward(
    dinp: FloatArray,
    dw: FloatArray,
    dbias: FloatArray,
    dout: FloatArray,
    inp: FloatArray,
    w: FloatArray,
    N: number,
    IC: number,
    OC: number,
  ): void {
    this.kernels.matmul(dinp, dout, w, N, OC, IC, false, false, false);
    this.kernels.matmul(dw, dout, inp, OC, N, IC, true, false, true);
    for (let r = 0; r < N; r++) {
      const o = r * OC;
      for (let j = 0; j < OC; j++) dbias[j] += dout[o + j];
    }
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
  addBias(out, bias, N, OC);
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

/** out[b,t,:] = wte[inp[b,t],:] + wpe[t,:]   (B,T) -> (B,T,C) */
export function encoderForward(out: FloatArray, inp: Int32Array, wte: FloatArray, wpe: FloatArray, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = inp[b * T + t] * C;
      const pos = t * C;
      for (let i = 0; i < C; i++) out[o + i] = wte[ix + i] + wpe[pos + i];
    }
  }
}

/** dwte[inp[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] */
export function encoderBackward(dwte: FloatArray, dwpe: FloatArray, dout: FloatArray, inp: Int32Array, B: number, T: number, C: number): void {
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const o = (b * T + t) * C;
      const ix = inp[b * T + t] * C;
      const pos = t * C;
      for (let i = 0; i < C; i++) {
        const g = dout[o + i];
        dwte[ix + i] += g;
        dwpe[pos + i] += g;
      }
    }
  }
}
