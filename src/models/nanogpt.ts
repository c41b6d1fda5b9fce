// GPT-2 a second time, built from the autograd engine's modules the way nanoGPT's model.py builds it in
// PyTorch: Embedding, LayerNorm, Linear, causal self-attention, a GELU MLP and an LM head tied to wte. Same
// math and same Hugging Face parameter names as the flat llm.c-style model (gpt2/model.ts), so it loads that
// model's weights, and a test checks both give the same logits and gradients. Slower, but every
// intermediate is a Tensor you can print, plot or differentiate: the bridge between the two halves.
import { crossEntropy } from '../autograd/fused/cross-entropy.js';
import { causalSelfAttention } from '../autograd/fused/attention.js';
import { linear } from '../autograd/fused/linear.js';
import * as F from '../autograd/ops/index.js';
import type { Indices } from '../autograd/ops/indexing.js';
import { Embedding, LayerNorm, Linear, Module } from '../nn/index.js';
import { tensor } from '../tensor/creation.js';
import { Tensor, type DType } from '../tensor/tensor.js';
import type { GPT2Config } from './gpt2/config.js';
import type { GPT2 } from './gpt2/model.js';

/**
 * Attention spelled out in primitive ops, as nanoGPT's non-flash path: q·kᵀ/√hs, the causal mask, softmax,
 * then ·v. qkv (B,T,3C) -> y (B,T,C), plus the attention weights att (B,NH,T,T) to look at.
 * Same result as the fused causalSelfAttention (which saves memory and time, but not att).
 */
export function explicitAttention(qkv: Tensor, nHead: number): { y: Tensor; att: Tensor } {
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  const hs = C / nHead;
  const heads = (t: Tensor) => t.reshape(B, T, nHead, hs).permute(0, 2, 1, 3); // (B,T,C) -> (B,NH,T,hs)
  const [q, k, v] = F.split(qkv, C, -1).map(heads);
  const future = tensor(Array.from({ length: T * T }, (_, i) => (i % T > Math.floor(i / T) ? 1 : 0)), { shape: [T, T], dtype: qkv.dtype });
  const scores = F.maskedFill(q.matmul(k.transpose()).mul(1 / Math.sqrt(hs)), future, -Infinity); // (B,NH,T,T)
  const att = scores.softmax(-1); // row t: how much query t takes from each key s ≤ t
  const y = att.matmul(v).permute(0, 2, 1, 3).reshape(B, T, C); // (B,NH,T,hs) -> (B,T,C)
  return { y, att };
}

export class CausalSelfAttention extends Module {
  c_attn: Linear; // (C) -> (3C): q, k, v side by side
  c_proj: Linear; // (C) -> (C)

  constructor(readonly nEmbd: number, readonly nHead: number, dtype: DType) {
    super();
    this.c_attn = new Linear(nEmbd, 3 * nEmbd, { dtype });
    this.c_proj = new Linear(nEmbd, nEmbd, { dtype });
  }

  /** (B,T,C) -> (B,T,C) */
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(causalSelfAttention(this.c_attn.forward(x), this.nHead));
  }
}

export class MLP extends Module {
  c_fc: Linear; // (C) -> (4C)
  c_proj: Linear; // (4C) -> (C)

  constructor(nEmbd: number, dtype: DType) {
    super();
    this.c_fc = new Linear(nEmbd, 4 * nEmbd, { dtype });
    this.c_proj = new Linear(4 * nEmbd, nEmbd, { dtype });
  }

  /** (B,T,C) -> (B,T,C) */
  forward(x: Tensor): Tensor {
    return this.c_proj.forward(this.c_fc.forward(x).gelu());
  }
}

/** A pre-LayerNorm transformer block: x + attn(ln_1(x)), then + mlp(ln_2(·)). */
export class NanoBlock extends Module {
  ln_1: LayerNorm;
  attn: CausalSelfAttention;
  ln_2: LayerNorm;
  mlp: MLP;

  constructor(c: GPT2Config, dtype: DType) {
    super();
    this.ln_1 = new LayerNorm(c.nEmbd, { dtype });
    this.attn = new CausalSelfAttention(c.nEmbd, c.nHead, dtype);
    this.ln_2 = new LayerNorm(c.nEmbd, { dtype });
    this.mlp = new MLP(c.nEmbd, dtype);
  }

  /** (B,T,C) -> (B,T,C) */
  forward(x: Tensor): Tensor {
    const h = x.add(this.attn.forward(this.ln_1.forward(x)));
    return h.add(this.mlp.forward(this.ln_2.forward(h)));
  }
}

export class NanoGPT extends Module {
  wte: Embedding; // (V,C) token embedding, also the LM head
  wpe: Embedding; // (maxT,C) position embedding
  h: NanoBlock[];
  ln_f: LayerNorm;

  constructor(readonly config: GPT2Config, dtype: DType = 'float32') {
    super();
    const { vocabSize: V, blockSize, nEmbd: C, nLayer } = config;
    this.wte = new Embedding(V, C, { dtype, std: 0.02 });
    this.wpe = new Embedding(blockSize, C, { dtype, std: 0.02 });
    this.h = Array.from({ length: nLayer }, () => new NanoBlock(config, dtype));
    this.ln_f = new LayerNorm(C, { dtype });
  }

  /** The same network with a flat GPT2's weights (copied, converted to this dtype). */
  static fromGPT2(model: GPT2, dtype: DType = 'float32'): NanoGPT {
    const m = new NanoGPT(model.config, dtype);
    m.loadStateDict(Object.fromEntries(model.params.table.map((e) => [e.name, new Tensor(model.params.get(e.name), e.shape)])));
    return m;
  }

  /** The residual stream after the embeddings: wte[ids] + wpe[0..T). ids (B·T) -> (B,T,C) */
  embed(ids: Indices, B: number, T: number): Tensor {
    const pos = Array.from({ length: T }, (_, t) => t);
    return this.wte.forward(ids, [B, T]).add(this.wpe.forward(pos)); // (B,T,C) + (T,C) broadcast
  }

  /** ids (B·T, row-major) -> logits (B,T,V) */
  forward(ids: Indices, B: number, T: number): Tensor {
    let x = this.embed(ids, B, T);
    for (const block of this.h) x = block.forward(x);
    return linear(this.ln_f.forward(x), this.wte.weight); // tied head: (B,T,C)·wteᵀ -> (B,T,V)
  }

  /** Mean cross-entropy of next-token targets (B·T; -1 = not counted), as GPT2.forward returns it. */
  loss(ids: Indices, targets: Indices, B: number, T: number): Tensor {
    return crossEntropy(this.forward(ids, B, T), targets);
  }
}
