// Accuracy by ranking: each candidate label's answer (label tokens + end marker) is scored by its
// log-likelihood after the prompt (score.ts), and the candidate whose label and the token ending it
// (decidingLengths) are the most likely is the prediction; rows keep the
// prompt prefix they share with the row before in the KV cache. The true answers' scores also give the loss a
// fine-tune counts on them (mean negative log-likelihood per answer token), without another forward pass.
import { sharedDecoder, type KVDecoder } from '../models/gpt2/decode.js';
import type { GPT2 } from '../models/gpt2/model.js';
import { decidingLengths, fitPrompt, labelCandidates, type PromptOptions } from '../task/encode.js';
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
  /** log p(true candidate | prompt) per example (NaN where the truth is not among the candidates). */
  truthScores: number[];
}

export interface TaskRankingResult extends RankingResult {
  /**
   * Mean negative log-likelihood per token of the true answers (label + end marker) after the ranked prompts, or
   * null when some row's output is not a label.
   */
  answerLoss: number | null;
  /** Rows whose input was cut to fit the prompt and the longest candidate in the context. */
  cut: number;
}

/**
 * Ranking accuracy over token-level examples sharing one candidate set (e.g. a validation split during
 * fine-tuning), on `decoder` if given, else the model's shared decoder; `deciding` as scoreCandidates takes it.
 */
export function rankExamples(model: GPT2, examples: readonly RankedExample[], candidates: readonly ArrayLike<number>[], opts: { decoder?: KVDecoder; deciding?: readonly number[]; onExample?: (done: number) => void } = {}): RankingResult {
  const dec = opts.decoder ?? sharedDecoder(model);
  dec.reset(); // the weights may have changed since the cache was filled (validation during training)
  let correct = 0;
  const truthScores: number[] = [];
  const predictions = examples.map((ex, i) => {
    const { scores, deciding } = scoreCandidates(dec, ex.prompt, candidates, { reuse: true, deciding: opts.deciding });
    const p = argmaxScore(deciding);
    if (p === ex.truth) correct++;
    truthScores.push(ex.truth >= 0 ? scores[ex.truth] : NaN);
    opts.onExample?.(i + 1);
    return p;
  });
  return { predictions, correct, accuracy: examples.length ? correct / examples.length : NaN, truthScores };
}

/**
 * Ranking accuracy of task examples over a closed label set (validation accuracy during fine-tuning): each
 * prompt is built as fine-tuning builds it (template, sequence start, input cut to fit) with room for the
 * longest candidate. Also the true answers' loss: where no prompt was cut, the tokens and the prompts are the
 * ones fine-tuning's loss counts (encodeExample), so it is that loss.
 */
export function rankingAccuracy(model: GPT2, codec: SequenceCodec, examples: readonly TaskExample[], labels: readonly string[], opts: PromptOptions & { decoder?: KVDecoder; onExample?: (done: number) => void }): TaskRankingResult {
  const candidates = labelCandidates(codec, labels, opts);
  const reserve = candidates.reduce((m, c) => Math.max(m, c.length), 0);
  const fitted = examples.map((ex) => fitPrompt(codec, ex, reserve, opts, ex.where));
  const ranked = fitted.map((p, i) => ({ prompt: p.ids, truth: labels.indexOf(examples[i].output) }));
  const r = rankExamples(model, ranked, candidates, { ...opts, deciding: decidingLengths(codec, labels, candidates, opts.allowSpecial) });
  let nll = 0;
  let tokens = 0;
  for (const [i, { truth }] of ranked.entries()) {
    if (truth >= 0) {
      nll -= r.truthScores[i];
      tokens += candidates[truth].length;
    }
  }
  const open = ranked.some((x) => x.truth < 0);
  return { ...r, answerLoss: open || tokens === 0 ? null : nll / tokens, cut: fitted.filter((p) => p.inputKept < p.inputChars).length };
}
