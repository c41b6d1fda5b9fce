// Test fixtures for training: tiny llm.c-format shards of a learnable synthetic token stream.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ShardFileWriter } from '../../src/data/shard.js';
import { Rng } from '../../src/util/rng.js';

export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `tinyllm-${tag}-`));
}

/** A stream where each token mostly follows from the previous one (a noisy cycle over V ids). */
export function cyclicTokens(n: number, V: number, seed: number, noise = 0.1): number[] {
  const rng = new Rng(seed);
  const out = [rng.int(V)];
  while (out.length < n) out.push(rng.random() < noise ? rng.int(V) : (out[out.length - 1] * 7 + 3) % V);
  return out;
}

/** Writes <dir>/toy_train_000000.bin (and _val_) with the given token counts. */
export function writeToyShards(dir: string, V: number, trainTokens: number, valTokens: number): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const [split, n, seed] of [['train', trainTokens, 1], ['val', valTokens, 2]] as const) {
    const w = new ShardFileWriter(path.join(dir, `toy_${split}_000000.bin`));
    w.write(cyclicTokens(n, V, seed));
    w.close();
  }
  return dir;
}
