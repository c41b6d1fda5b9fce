// Statistics of one shard for `tinyllm inspect`: the validated header, the number of documents
// (<|endoftext|> tokens), the largest id, the first id outside a vocabulary, and the first tokens for a
// decoded sample. Streams the file.
import * as fs from 'node:fs';
import { forEachTokenChunk, readShardHeader, type ShardHeader } from './shard.js';

export interface ShardStats extends ShardHeader {
  file: string;
  bytes: number;
  documents: number;
  maxToken: number;
  /** The first id ≥ the vocabulary size given to shardStats, with its token offset. */
  outside: { offset: number; id: number } | null;
  /** The first `sampleTokens` tokens. */
  head: number[];
}

export function shardStats(file: string, eotToken: number, sampleTokens = 128, vocabSize = Infinity): ShardStats {
  const header = readShardHeader(file);
  let documents = 0;
  let maxToken = -1;
  let outside: ShardStats['outside'] = null;
  const head: number[] = [];
  forEachTokenChunk(file, (chunk, at) => {
    for (let i = 0; i < chunk.length; i++) {
      const t = chunk[i];
      if (t === eotToken) documents++;
      if (t > maxToken) maxToken = t;
      if (t >= vocabSize) outside ??= { offset: at + i, id: t };
      if (head.length < sampleTokens) head.push(t);
    }
  });
  return { file, bytes: fs.statSync(file).size, ...header, documents, maxToken, outside, head };
}
