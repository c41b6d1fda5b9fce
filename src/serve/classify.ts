// Classification by likelihood ranking with the runtime Decoder, for fine-tuned sensing models: the prompt (the
// .tllm header's template and sequence start, runtime taskPrompt) is prefilled once, and each candidate answer
// (label + end marker, runtime labelIds) is scored by src/eval's ranking (one LM-head pass over all candidates) as
// Σ log p of its deciding tokens (the label and the token ending it, as eval ranks); the probabilities are the
// softmax of those scores over the labels.
import { argmaxScore, scoreCandidates } from '../eval/score.js';
import type { Decoder } from '../runtime/decoder.js';
import type { LoadedModel } from '../runtime/model.js';
import { taskPrompt } from '../runtime/prompt.js';
import { UserError } from '../util/errors.js';
import { ApiError } from './errors.js';

/** A task request's prompt (runtime taskPrompt); one that cannot fit the context is a 400 naming `input`. */
export function requestPrompt(model: LoadedModel, fields: { instruction?: string; input: string }, reserve: number): { ids: number[]; stop: string[] } {
  try {
    return taskPrompt(model, fields, reserve);
  } catch (e) {
    if (e instanceof UserError) throw new ApiError(400, e.message, 'input', 'context_length_exceeded');
    throw e;
  }
}

export interface Ranking {
  /** Σ log p of each label's deciding tokens, in label order. */
  logprobs: number[];
  /** softmax of logprobs. */
  probabilities: number[];
  best: number;
}

/**
 * Scores every candidate after one prefill of `prompt` (start tokens included), keeping the prefix it shares with
 * the decoder's cached context (the server's weights never change); null when cancelled() turned true.
 */
export async function rankCandidates(dec: Decoder, prompt: number[], candidates: number[][], deciding: readonly number[], cancelled: () => boolean): Promise<Ranking | null> {
  const P = prompt.length;
  if (P === 0) throw new ApiError(400, 'input is empty and the model has no sequence start or template: nothing to classify', 'input');
  const longest = candidates.reduce((m, c) => Math.max(m, c.length), 0);
  if (P + longest - 1 > dec.capacity) {
    throw new ApiError(400, `the prompt (${P} tokens) and the longest label (${longest} tokens) exceed the model's context of ${dec.capacity} tokens`, 'input');
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
  if (cancelled()) return null;
  const logprobs = Array.from(scoreCandidates(dec, prompt, candidates, { reuse: true, deciding }).deciding);
  const max = Math.max(...logprobs);
  const e = logprobs.map((l) => Math.exp(l - max));
  const sum = e.reduce((a, b) => a + b, 0);
  const probabilities = e.map((x) => x / sum);
  return { logprobs, probabilities, best: argmaxScore(logprobs) };
}
