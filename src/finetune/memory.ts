// What a fine-tune holds in memory, computed before anything is allocated (for a preflight like
// models/gpt2/memory.ts checkTrainingMemory): the float32 weights, the trainable set's parameters (LoRA),
// gradients and AdamW moments, and the activations of one pass (rows ≤ maxTokensPerPass / T; blocks shared
// when recomputing; the LM head only on counted rows), plus LoRA's scratch.
import { activationFloats } from '../models/gpt2/activations.js';
import { blockParams, numParams, type GPT2Config } from '../models/gpt2/config.js';
import { siteShape } from './lora.js';
import { LORA_SITES, loraOf, type FinetuneMethod } from './method.js';

export interface FinetuneShape {
  B: number;
  T: number;
  /** Most positions with a loss in one pass (default: every position). */
  countedRows?: number;
  maxTokensPerPass?: number;
  recompute?: boolean;
}

/**
 * Trainable parameters of a method (the size of its gradient and of each AdamW moment), in closed form: a
 * checkpoint header's sections are checked against it before anything is sized from that header, and listing
 * the LoRA table of a corrupt nLayer = 2^31 - 1 filled the heap.
 */
export function trainableCount(config: GPT2Config, method: FinetuneMethod): number {
  const C = config.nEmbd;
  const lora = loraOf(method);
  if (lora) {
    // per block, for each targeted site (in)·r + r·(out): loraTable's A and B
    const sites = LORA_SITES.filter((s) => lora.targets.includes(s));
    const perBlock = sites.reduce((n, site) => {
      const { IC, OC } = siteShape(site, C);
      return n + lora.r * (IC + OC);
    }, 0);
    return config.nLayer * perBlock;
  }
  if (method.kind !== 'top') return numParams(config);
  return method.layers * blockParams(C) + 2 * C; // the top blocks and ln_f
}

/** Bytes of float32 buffers a Finetuner with these settings allocates (weights, trainable state, one pass's activations). */
export function finetuneMemoryBytes(config: GPT2Config, method: FinetuneMethod, s: FinetuneShape): number {
  const rows = s.maxTokensPerPass === undefined ? s.B : Math.max(1, Math.min(s.B, Math.floor(s.maxTokensPerPass / s.T)));
  const n = trainableCount(config, method);
  const lora = loraOf(method);
  // (adapter params,) grads, m, v; zo keeps only the adapter (or nothing beyond the weights)
  const state = method.kind === 'zo' ? (lora ? n : 0) : (lora ? 4 : 3) * n;
  const N = rows * s.T;
  const headRows = Math.max(1, Math.min(s.countedRows ?? N, N));
  const acts = activationFloats(config, rows, s.T, { recompute: method.kind === 'zo' || (s.recompute ?? false), headRows });
  const loraScratch = lora ? 2 * N * lora.r + (lora.dropout > 0 ? 2 * N * 4 * config.nEmbd : 0) : 0;
  return 4 * (numParams(config) + state + acts + loraScratch);
}
