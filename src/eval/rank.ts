// Accuracy by ranking: each candidate label's answer (label tokens + end marker) is scored by its
// log-likelihood after the prompt, and the most likely candidate is the prediction. The prompt is prefilled
// into the KV cache once; each candidate then rewinds the cache to the prompt's last token and feeds
// [last prompt token, ...candidate] (all but the candidate's last token enter the cache), so a candidate
// costs its own length.
import { sharedDecoder, type KVDecoder } from '../models/gpt2/decode.js';
import type { GPT2 } from '../models/gpt2/model.js';
import { fitPrompt, labelCandidates, type PromptOptions } from '../task/encode.js';
import type { TaskExample } from '../task/read.js';
import type { SequenceCodec } from '../task/sequence.js';

/** What ranking needs from a KV-cache decoder: the training model's KVDecoder or the int8 runtime's Decoder. */
export type ScoringDecoder = Pick<KVDecoder, 'pos' | 'capacity' | 'config' | 'reset' | 'rewind' | 'feed' | 'feedScored'>;

/**
 * log p(candidate | prompt) for every candidate, after one shared prefill. If the decoder already holds the
 * prompt as its first `prompt.length` tokens (e.g. after greedy generation from it), pass `prefilled` to skip
 * the prefill. A prompt + candidate may be one token longer than the decoder's capacity, as in training.
 */
export function scoreCandidates(dec: ScoringDecoder, prompt: ArrayLike<number>, candidates: readonly ArrayLike<number>[], prefilled = false): Float64Array {
  const P = prompt.length;
  if (P === 0) throw new Error('scoreCandidates: empty prompt (start it with the sequence-start tokens)');
  if (prefilled && dec.pos < P - 1) throw new Error(`scoreCandidates: the decoder holds ${dec.pos} tokens, not the ${P}-token prompt`);
  if (!prefilled) {
    dec.reset();
    if (P > 1) dec.feed(Array.prototype.slice.call(prompt, 0, P - 1) as number[]);
  }
  const seq: number[] = [];
  return Float64Array.from(candidates, (cand) => {
    if (cand.length === 0) throw new Error('scoreCandidates: empty candidate');
    if (P + cand.length - 1 > dec.capacity) throw new Error(`scoreCandidates: prompt + candidate (${P + cand.length} tokens) exceed the context of ${dec.capacity} + 1`);
    dec.rewind(P - 1);
    seq.length = 0;
    seq.push(prompt[P - 1]);
    for (let i = 0; i < cand.length; i++) seq.push(cand[i]);
    return dec.feedScored(seq);
  });
}

/** Index of the largest score (ties: the first). */
export function argmaxScore(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

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
  let correct = 0;
  const predictions = examples.map((ex, i) => {
    const p = argmaxScore(scoreCandidates(dec, ex.prompt, candidates));
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
