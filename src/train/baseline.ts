// The unigram baseline of a dataset: the cross-entropy (nats/token) on the validation tokens of a model that
// ignores context and predicts each token by its training frequency (add-one smoothed over the vocabulary).
// A trained model should land well below it; pretrain prints it so a loss number has a yardstick.
import { forEachTokenChunk } from '../data/shard.js';

/** Calls fn on consecutive chunks of the tokens of the given shards, at most maxTokens in all. */
function eachChunk(files: string[], maxTokens: number, fn: (tokens: Uint16Array) => void): void {
  let left = maxTokens;
  for (const file of files) if (left > 0) left -= forEachTokenChunk(file, fn, left);
}

/** Unigram cross-entropy of val under train frequencies (nats/token), reading at most maxTokens of each. */
export function unigramBaseline(trainFiles: string[], valFiles: string[], vocabSize: number, maxTokens = 20_000_000): number {
  const counts = new Float64Array(vocabSize);
  let total = 0;
  eachChunk(trainFiles, maxTokens, (t) => {
    for (let i = 0; i < t.length; i++) counts[t[i]]++;
    total += t.length;
  });
  let nll = 0;
  let n = 0;
  const denom = total + vocabSize;
  eachChunk(valFiles, maxTokens, (t) => {
    for (let i = 0; i < t.length; i++) nll -= Math.log((counts[t[i]] + 1) / denom);
    n += t.length;
  });
  return n > 0 ? nll / n : NaN;
}
