// Statistics of one shard for `tinyllm inspect`: the validated header, the number of documents
// (<|endoftext|> tokens), the largest id, and the first tokens for a decoded sample. Streams the file.
import * as fs from 'node:fs';
import { readShardHeader, readShardTokens, type ShardHeader } from './shard.js';

export interface ShardStats extends ShardHeader {
  file: string;
  bytes: number;
  documents: number;
  maxToken: number;
  /** The first `sampleTokens` tokens. */
  head: number[];
}

export function shardStats(file: string, eotToken: number, sampleTokens = 128): ShardStats {
  const header = readShardHeader(file);
  const chunk = new Uint16Array(65536);
  const fd = fs.openSync(file, 'r');
  let documents = 0;
  let maxToken = -1;
  const head: number[] = [];
  try {
    for (let start = 0; start < header.numTokens; start += chunk.length) {
      const n = Math.min(chunk.length, header.numTokens - start);
      readShardTokens(fd, start, n, chunk);
      for (let i = 0; i < n; i++) {
        const t = chunk[i];
        if (t === eotToken) documents++;
        if (t > maxToken) maxToken = t;
        if (head.length < sampleTokens) head.push(t);
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { file, bytes: fs.statSync(file).size, ...header, documents, maxToken, head };
}
