// Test helpers for the data area: temporary directories and shards with known token ids.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ShardFileWriter } from '../../src/data/shard.js';

export function tmpDir(prefix = 'tinyllm-data-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Writes a shard with the given tokens and returns its path. */
export function writeShard(file: string, tokens: ArrayLike<number>): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const w = new ShardFileWriter(file);
  w.write(tokens);
  w.close();
  return file;
}
