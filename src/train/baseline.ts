// The unigram baseline of a dataset: the cross-entropy (nats/token) on the validation tokens of a model that
// ignores context and predicts each token by its training frequency (add-one smoothed over the vocabulary).
// A trained model should land well below it; pretrain prints it so a loss number has a yardstick.
import * as fs from 'node:fs';
import { readShardHeader, readShardTokens } from '../data/shard.js';

const CHUNK = 1 << 16;

/** Calls fn on consecutive chunks of the tokens of the given shards, at most maxTokens in all. */
function eachChunk(files: string[], maxTokens: number, fn: (tokens: Uint16Array) => void): void {
  const buf = new Uint16Array(CHUNK);
  let left = maxTokens;
  for (const file of files) {
    const { numTokens } = readShardHeader(file);
    const fd = fs.openSync(file, 'r');
    try {
      for (let at = 0; at < numTokens && left > 0; ) {
        const n = Math.min(CHUNK, numTokens - at, left);
        readShardTokens(fd, at, n, buf);
        fn(buf.subarray(0, n));
        at += n;
        left -= n;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
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
