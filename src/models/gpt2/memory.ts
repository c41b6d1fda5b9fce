// What a GPT-2 needs in memory, checked before anything is allocated: training holds weights, gradients,
// AdamW moments (float32 each) and llm.c-style activation buffers (activations.ts) in the WebAssembly arena,
// whose limit is 4 GiB; generation holds the weights and a KV cache. Both are also compared with the memory
// the process may use (util/memory.ts), so a too-big model is refused with figures instead of being OOM-killed.
import { sharedArena } from '../../tensor/arena.js';
import { UserError } from '../../util/errors.js';
import { checkMemory, memoryLimit, mib, type MemoryLimit } from '../../util/memory.js';
import { activationFloats } from './activations.js';
import { numParams, type GPT2Config } from './config.js';

/**
 * Refuses a run whose weights, gradients, AdamW moments and activations do not fit in the WebAssembly
 * memory (4 GiB at most, see README "Memory") or in the memory this process may use (util/memory.ts),
 * before anything is allocated; the message gives the figures and the flags that lower them.
 */
export function checkTrainingMemory(s: { model: string; config: GPT2Config; B: number; T: number }, limit: MemoryLimit = memoryLimit()): void {
  const weights = 16 * numParams(s.config); // params, grads, m, v: float32 each
  const perRow = activationFloats(s.config, 1, s.T) * 4;
  const acts = activationFloats(s.config, s.B, s.T) * 4;
  const need = weights + acts;
  const arena = sharedArena();
  const room = arena.limit - arena.used;
  const fitB = Math.floor((room - weights) / perRow);
  const lower = fitB >= 1 ? `lower --batch (-b ${Math.min(fitB, s.B - 1)} fits) or --seq (-t)` : 'even -b 1 does not fit: lower --seq (-t)';
  if (need > room) {
    throw new UserError(
      `${s.model} with -b ${s.B} -t ${s.T} needs ${mib(need)} of WebAssembly memory (weights, gradients and AdamW moments ${mib(weights)} + activations ${mib(acts)}), ` +
        `more than its limit of ${mib(arena.limit)} (the most a 32-bit WebAssembly memory can address; see README, Memory); ${lower}, or use a smaller --model`,
    );
  }
  checkMemory(need, `training ${s.model} with -b ${s.B} -t ${s.T}`, `${lower}, or use a smaller --model`, limit);
}

/** Refuses to load a model for generation when its weights and KV cache exceed the memory this process may use. */
export function checkInferenceMemory(config: GPT2Config, what: string, limit: MemoryLimit = memoryLimit()): void {
  const { nLayer: L, nEmbd: C, blockSize: T, vocabSize: V } = config;
  const bytes = 4 * (numParams(config) + 2 * L * T * C + 8 * C + 2 * V);
  checkMemory(bytes, what, 'use a smaller model (a smaller preset), or a machine with more memory', limit);
}
