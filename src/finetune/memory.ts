// What a fine-tune holds in memory, computed before anything is allocated (for a preflight like
// models/gpt2/memory.ts checkTrainingMemory): the float32 weights, the trainable set's parameters (LoRA),
// gradients and AdamW moments, and the activations of one pass (rows ≤ maxTokensPerPass / T; blocks shared
// when recomputing; the LM head only on counted rows), plus LoRA's scratch.
import { activationFloats } from '../models/gpt2/activations.js';
import { numParams, paramSpecs, type GPT2Config } from '../models/gpt2/config.js';
import { loraTable } from './lora.js';
import { loraOf, type FinetuneMethod } from './method.js';

export interface FinetuneShape {
  B: number;
  T: number;
  /** Most positions with a loss in one pass (default: every position). */
  countedRows?: number;
  maxTokensPerPass?: number;
  recompute?: boolean;
}

/** Trainable parameters of a method (the size of its gradient and of each AdamW moment). */
export function trainableCount(config: GPT2Config, method: FinetuneMethod): number {
  const lora = loraOf(method);
  if (lora) return loraTable(config, lora).reduce((n, e) => n + e.size, 0);
  if (method.kind !== 'top') return numParams(config);
  const lowest = config.nLayer - method.layers;
  return paramSpecs(config)
    .filter((s) => s.name.startsWith('ln_f.') || Number(/^h\.(\d+)\./.exec(s.name)?.[1] ?? -1) >= lowest)
    .reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
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
