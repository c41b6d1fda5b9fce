// Scoring a closed set of candidate answers by likelihood after a prompt, on any KV-cache decoder (the training
// model's, the int8 runtime's): the prompt but its last token is prefilled (keeping what it shares with the
// cached prompt, e.g. the instruction); the decoder then feeds the last prompt token once and each candidate after
// it, and runs the LM head once over all those rows, so a candidate costs its own length. Ranking compares the
// candidates' deciding tokens (task/encode.ts decidingLengths): the label and the token that ends it.
import type { CacheDecoder } from '../models/gpt2/block-decode.js';

/** What ranking needs from a KV-cache decoder: the training model's KVDecoder or the int8 runtime's Decoder. */
export type ScoringDecoder = Pick<CacheDecoder<unknown>, 'pos' | 'capacity' | 'config' | 'reset' | 'feed' | 'rewindToShared' | 'append' | 'scoreBranches'>;

export interface CandidateScores {
  /** log p(candidate | prompt) per candidate. */
  scores: Float64Array;
  /** log p(the candidate's first `deciding` tokens | prompt) per candidate: what ranking compares (= scores without `deciding`). */
  deciding: Float64Array;
  /** Per candidate: every token was the most likely one (below `vocab`), so greedy decoding writes it. */
  greedy: boolean[];
}

/**
 * log p(candidate | prompt) for every candidate after one prefill. `reuse` keeps the prefix the decoder's cache
 * shares with this prompt (the model must not have changed since it was filled); otherwise the cache starts
 * empty. A prompt + candidate may be one token longer than the decoder's capacity, as in training.
 */
export function scoreCandidates(dec: ScoringDecoder, prompt: ArrayLike<number>, candidates: readonly ArrayLike<number>[], opts: { reuse?: boolean; vocab?: number; deciding?: readonly number[] } = {}): CandidateScores {
  const P = prompt.length;
  if (P === 0) throw new Error('scoreCandidates: empty prompt (start it with the sequence-start tokens)');
  for (const cand of candidates) {
    if (cand.length === 0) throw new Error('scoreCandidates: empty candidate');
    if (P + cand.length - 1 > dec.capacity) throw new Error(`scoreCandidates: prompt + candidate (${P + cand.length} tokens) exceed the context of ${dec.capacity} + 1`);
  }
  if (!opts.reuse) dec.reset();
  const kept = dec.rewindToShared(prompt, P - 1);
  if (kept < P - 1) dec.append(Array.prototype.slice.call(prompt, kept, P - 1) as number[]);
  const r = dec.scoreBranches(prompt[P - 1], candidates, opts.vocab, opts.deciding);
  return { scores: r.scores, deciding: r.leadingScores, greedy: r.greedy };
}

/** Index of the largest score (ties: the first). */
export function argmaxScore(scores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
  return best;
}

