// Documents read back from a split's shards: the concatenated token stream cut before every
// <|endoftext|> (documents may continue across shard boundaries, as llm.c's writer fills shards
// exactly). Reads 64K tokens at a time, so memory is bounded by the longest document.
import * as fs from 'node:fs';
import { readShardHeader, readShardTokens } from './shard.js';

/** Yields each document's tokens, starting with its <|endoftext|>. */
export function* readDocuments(files: readonly string[], eotToken: number): Generator<number[]> {
  const chunk = new Uint16Array(65536);
  let doc: number[] | null = null;
  for (const file of files) {
    const { numTokens } = readShardHeader(file);
    const fd = fs.openSync(file, 'r');
    try {
      for (let start = 0; start < numTokens; start += chunk.length) {
        const n = Math.min(chunk.length, numTokens - start);
        readShardTokens(fd, start, n, chunk);
        for (let i = 0; i < n; i++) {
          const t = chunk[i];
          if (t === eotToken) {
            if (doc) yield doc;
            doc = [t];
          } else (doc ??= []).push(t);
        }
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  if (doc) yield doc;
}
