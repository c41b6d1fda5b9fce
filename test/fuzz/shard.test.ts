// Fuzzed llm.c token shards (src/data/shard.ts) through every reader of them: the header check, the
// training loader (with its vocabulary check), the document stream and `inspect`'s statistics.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readDocuments } from '../../src/data/docstream.js';
import { shardStats } from '../../src/data/inspect.js';
import { ShardLoader } from '../../src/data/loader.js';
import { encodeShardHeader, SHARD_HEADER_BYTES } from '../../src/data/shard.js';
import { fuzzReader, type ReaderTarget } from './harness.js';

const FILE = 'd_train_000000.bin';
const V = 300;
const EOT = 299;

function shardBytes(tokens: number[]): Uint8Array {
  const body = new Uint16Array(tokens);
  return Buffer.concat([encodeShardHeader(tokens.length), new Uint8Array(body.buffer)]);
}

const target: ReaderTarget<{ tokens: number; docs: number; batches: number }> = {
  files: { [FILE]: shardBytes(Array.from({ length: 200 }, (_, i) => (i % 17 === 0 ? EOT : (i * 37) % V))) },
  fields: {
    magic: { file: FILE, offset: 0, size: 4 },
    version: { file: FILE, offset: 4, size: 4 },
    numTokens: { file: FILE, offset: 8, size: 4 },
    firstToken: { file: FILE, offset: SHARD_HEADER_BYTES, size: 2 },
  },
  read(dir) {
    const file = path.join(dir, FILE);
    const stats = shardStats(file, EOT, 16);
    let docs = 0;
    for (const d of readDocuments([file], EOT)) docs += d.length > 0 ? 1 : 0;
    const loader = new ShardLoader({ pattern: dir, B: 2, T: 8, vocabSize: V, shuffle: false });
    let batches = 0;
    try {
      for (let i = 0; i < 4; i++, batches++) for (const t of loader.next()) if (!(t >= 0 && t < V)) throw new Error(`loader served token ${t}`);
    } finally {
      loader.close();
    }
    return { tokens: stats.numTokens, docs, batches };
  },
  check(r) {
    expect(r.tokens).toBeGreaterThan(0);
    expect(r.docs).toBeGreaterThan(0);
    expect(r.batches).toBe(4);
  },
};

describe('fuzzed token shards', () => {
  it('every mutation reads back or gives a UserError naming the shard', () => fuzzReader(target, { numRuns: 150 }));
});
