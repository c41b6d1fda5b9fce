// Accuracy by ranking: each candidate label's answer (label tokens + end marker) is scored by its
// log-likelihood after the prompt (score.ts), and the most likely candidate is the prediction; rows keep the
// prompt prefix they share with the row before in the KV cache.
import { sharedDecoder, type KVDecoder } from '../models/gpt2/decode.js';
import type { GPT2 } from '../models/gpt2/model.js';
import { fitPrompt, labelCandidates, type PromptOptions } from '../task/encode.js';
import type { TaskExample } from '../task/read.js';
import type { SequenceCodec } from '../task/sequence.js';
import { argmaxScore, scoreCandidates } from './score.js';

export interface RankedExample {
  /** Start tokens + prompt. */
  prompt: ArrayLike<number>;
  /** Index of the true candidate (-1 when it is not among them). */
  truth: number;
}

export interface RankingResult {
  /** Index of the most likely candidate per example. */
  predictions: number[];
  correct: number;
  accuracy: number;
}

/**
 * Ranking accuracy over token-level examples sharing one candidate set (e.g. a validation split during
 * fine-tuning), on `decoder` if given, else the model's shared decoder.
 */
export function rankExamples(model: GPT2, examples: readonly RankedExample[], candidates: readonly ArrayLike<number>[], opts: { decoder?: KVDecoder; onExample?: (done: number) => void } = {}): RankingResult {
  const dec = opts.decoder ?? sharedDecoder(model);
  dec.reset(); // the weights may have changed since the cache was filled (validation during training)
  let correct = 0;
  const predictions = examples.map((ex, i) => {
    const p = argmaxScore(scoreCandidates(dec, ex.prompt, candidates, { reuse: true }).scores);
    if (p === ex.truth) correct++;
    opts.onExample?.(i + 1);
    return p;
  });
  return { predictions, correct, accuracy: examples.length ? correct / examples.length : NaN };
}

/**
 * Ranking accuracy of task examples over a closed label set (validation accuracy during fine-tuning): each
 * prompt is built as fine-tuning builds it (template, sequence start, input cut to fit) with room for the
 * longest candidate.
 */
export function rankingAccuracy(model: GPT2, codec: SequenceCodec, examples: readonly TaskExample[], labels: readonly string[], opts: PromptOptions & { decoder?: KVDecoder; onExample?: (done: number) => void }): RankingResult {
  const candidates = labelCandidates(codec, labels, opts);
  const reserve = candidates.reduce((m, c) => Math.max(m, c.length), 0);
  const ranked = examples.map((ex) => ({ prompt: fitPrompt(codec, ex, reserve, opts, ex.where).ids, truth: labels.indexOf(ex.output) }));
  return rankExamples(model, ranked, candidates, opts);
}
