// Test-time augmentation for ranking: a row's candidates are scored after its prompt and after copies of it whose
// input is augmented as fine-tuning augmented it (--jitter, --shift, --gain: task/augment.ts). Each prompt's scores become
// probabilities over the label set; their mean ranks the candidates (soft voting over augmented views, the usual
// test-time augmentation of classifiers). A model trained on jittered rows then answers for the reading's
// neighbourhood rather than for one exact token sequence.
import { augmentInput, type Augmentation } from '../task/augment.js';
import { fitPrompt, type FittedPrompt, type PromptOptions } from '../task/encode.js';
import type { TaskExample } from '../task/read.js';
import type { SequenceCodec } from '../task/sequence.js';
import type { Rng } from '../util/rng.js';

export interface TestTimeAugmentation {
  /** Prompts scored per row: the row's own and copies − 1 augmented ones (1 = off). */
  copies: number;
  aug: Augmentation;
  /** Draws the augmentations, row after row (seeded: an evaluation is repeatable). */
  rng: Rng;
}

/**
 * The augmented prompts of `ex` (copies − 1), fitted to the context as `original` was; a shift or gain that would cut
 * an input that `original` kept whole is not made.
 */
export function augmentedPrompts(codec: SequenceCodec, ex: TaskExample, original: FittedPrompt, reserve: number, opts: PromptOptions, tta: TestTimeAugmentation): number[][] {
  const wasCut = original.inputKept < original.inputChars;
  const fit = (input: string) => fitPrompt(codec, { ...ex, input }, reserve, opts, ex.where);
  const out: number[][] = [];
  for (let c = 1; c < tta.copies; c++) {
    const input = augmentInput(ex.input, tta.aug, tta.rng, (moved) => {
      const f = fit(moved);
      return wasCut || f.inputKept === f.inputChars;
    });
    out.push(fit(input).ids);
  }
  return out;
}

/** Mean over prompts of each candidate's probability within the candidate set (softmax of its log-likelihoods). */
export function meanCandidateProbabilities(scores: readonly ArrayLike<number>[]): Float64Array {
  const n = scores[0].length;
  const mean = new Float64Array(n);
  for (const s of scores) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, s[i]);
    let z = 0;
    for (let i = 0; i < n; i++) z += Math.exp(s[i] - max);
    for (let i = 0; i < n; i++) mean[i] += Math.exp(s[i] - max) / z / scores.length;
  }
  return mean;
}
