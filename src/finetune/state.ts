// Resumable fine-tuning state in the tinyllm checkpoint format (src/train/checkpoint.ts): weights, the
// trainable set's AdamW moments, LoRA adapter weights, the method, step and whatever run/RNG/data state the
// caller keeps, so a fine-tune continues bit-exactly. Written atomically; a mismatching method is refused.
import { loadCheckpoint, readCheckpointHeader, saveCheckpoint, type CheckpointHeader } from '../train/checkpoint.js';
import type { RngState } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import type { Finetuner } from './finetuner.js';
import { describeMethod } from './method.js';

export interface FinetuneStateExtras {
  tokenizer?: string | null;
  /** Run settings (JSON) to continue with, e.g. the CLI's flags. */
  run?: Record<string, unknown>;
  rng?: RngState;
  /** Data order / position (JSON). */
  data?: unknown;
}

/** Saves everything needed to continue `ft` exactly (the method is recorded in the header). */
export function saveFinetuneState(path: string, ft: Finetuner, extras: FinetuneStateExtras = {}): void {
  saveCheckpoint(path, {
    model: ft.model,
    step: ft.step,
    tokenizer: extras.tokenizer ?? null,
    optimizer: ft.optimizer ?? undefined,
    run: extras.run,
    rng: extras.rng,
    data: extras.data,
    finetune: { method: ft.opts.method },
    adapter: ft.lora?.params,
  });
}

/**
 * Restores a state saved by saveFinetuneState into `ft` (built with the same model size and method, e.g.
 * from readCheckpointHeader(path).finetune.method); returns the header for the caller's run/RNG/data state.
 */
export function loadFinetuneState(path: string, ft: Finetuner): CheckpointHeader {
  const saved = readCheckpointHeader(path).finetune?.method;
  if (!saved) throw new UserError(`checkpoint ${path} is a pre-training checkpoint, not a fine-tune; start a fine-tune from it with --from instead of resuming`);
  if (describeMethod(saved) !== describeMethod(ft.opts.method)) {
    throw new UserError(`checkpoint ${path} was fine-tuned with ${describeMethod(saved)}, not ${describeMethod(ft.opts.method)}; drop the method flags to continue it, or start fresh`);
  }
  const header = loadCheckpoint(path, ft.model, ft.optimizer ?? undefined, ft.lora?.params);
  ft.step = header.step;
  return header;
}
