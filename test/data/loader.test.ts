import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findShards, ShardLoader, splitPattern } from '../../src/data/loader.js';
import { Permutation } from '../../src/data/permutation.js';
import { tmpDir, writeShard } from './helpers.js';

/** Shards whose token at global position p is p % 60000, so every window says where it came from. */
function makeShards(dir: string, sizes: number[], name = 'd', split = 'train'): void {
  let p = 0;
  sizes.forEach((n, i) => {
    writeShard(path.join(dir, `${name}_${split}_${String(i).padStart(6, '0')}.bin`), Array.from({ length: n }, () => p++ % 60000));
  });
}

describe('Permutation', () => {
  it('is a bijection on [0, n) for any n and seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), fc.integer(), fc.nat(), (n, seed, stream) => {
        const p = new Permutation(n, seed, stream);
        const seen = new Uint8Array(n);
        for (let i = 0; i < n; i++) seen[p.at(i)]++;
        expect(seen.every((c) => c === 1)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('differs between epochs', () => {
    const a = Array.from({ length: 100 }, (_, i) => new Permutation(100, 1, 0).at(i));
    const b = Array.from({ length: 100 }, (_, i) => new Permutation(100, 1, 1).at(i));
    expect(a).not.toEqual(b);
  });
});

describe('ShardLoader', () => {
  it('serves every window of an epoch exactly once, (B, T+1) with the 1-token overlap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 32 }),
        fc.boolean(),
        (sizes, B, T, shuffle) => {
          const windows = sizes.reduce((s, n) => s + Math.max(0, Math.floor((n - 1) / T)), 0);
          fc.pre(windows > 0);
          const dir = tmpDir();
          makeShards(dir, sizes);
          const loader = new ShardLoader({ pattern: dir, B, T, shuffle, seed: 7 });
          expect(loader.windowsPerEpoch).toBe(windows);
          expect(loader.tokensPerEpoch).toBe(windows * T);
          const starts: number[] = [];
          while (starts.length < windows) {
            const batch = loader.next();
            expect(batch.length).toBe(B * (T + 1));
            for (let b = 0; b < B && starts.length < windows; b++) {
              const row = batch.subarray(b * (T + 1), (b + 1) * (T + 1));
              for (let i = 1; i <= T; i++) expect(row[i]).toBe(row[i - 1] + 1); // contiguous, within one shard
              starts.push(row[0]);
            }
          }
          const expected: number[] = [];
          let p = 0;
          for (const n of sizes) {
            for (let w = 0; w < Math.floor((n - 1) / T); w++) expected.push(p + w * T);
            p += n;
          }
          if (shuffle) expect([...starts].sort((a, b) => a - b)).toEqual(expected);
          else expect(starts).toEqual(expected);
          loader.close();
          fs.rmSync(dir, { recursive: true });
        },
      ),
      { numRuns: 40 },
    );
  });

  it('resumes exactly from a saved state, across epochs, through JSON', () => {
    const dir = tmpDir();
    makeShards(dir, [500, 300]);
    const a = new ShardLoader({ pattern: path.join(dir, 'd_train'), B: 3, T: 16, seed: 42 });
    for (let i = 0; i < 20; i++) a.next();
    const saved = JSON.parse(JSON.stringify(a.getState()));
    const expected = Array.from({ length: 30 }, () => Array.from(a.next()));
    const b = new ShardLoader({ pattern: path.join(dir, 'd_train'), B: 3, T: 16, seed: 42 });
    b.setState(saved);
    expect(Array.from({ length: 30 }, () => Array.from(b.next()))).toEqual(expected);
    expect(b.getState().epoch).toBeGreaterThan(0);
  });

  it('same seed → same batches; different seed → different order', () => {
    const dir = tmpDir();
    makeShards(dir, [2000]);
    const run = (seed: number) => {
      const l = new ShardLoader({ pattern: dir, B: 4, T: 8, seed });
      return Array.from({ length: 5 }, () => Array.from(l.next()));
    };
    expect(run(1)).toEqual(run(1));
    expect(run(1)).not.toEqual(run(2));
  });

  it('refuses a state saved for other data or another T', () => {
    const dir = tmpDir();
    makeShards(dir, [500]);
    const a = new ShardLoader({ pattern: dir, B: 2, T: 16 });
    const s = a.getState();
    expect(() => new ShardLoader({ pattern: dir, B: 2, T: 8 }).setState(s)).toThrow(/sequence length 16/);
    makeShards(dir, [500, 100]);
    expect(() => new ShardLoader({ pattern: dir, B: 2, T: 16 }).setState(s)).toThrow(/data changed/);
  });

  it('finds shards by directory + split, by prefix and by file', () => {
    const dir = tmpDir();
    makeShards(dir, [100, 100], 'a', 'train');
    makeShards(dir, [100], 'a', 'val');
    expect(findShards(dir, 'train').map((f) => path.basename(f))).toEqual(['a_train_000000.bin', 'a_train_000001.bin']);
    expect(new ShardLoader({ pattern: dir, split: 'val', B: 1, T: 9 }).files).toHaveLength(1);
    expect(new ShardLoader({ pattern: path.join(dir, 'a_train'), B: 1, T: 9 }).files).toHaveLength(2);
    expect(new ShardLoader({ pattern: path.join(dir, 'a_val_000000.bin'), B: 1, T: 9 }).files).toHaveLength(1);
  });

  it('refuses a directory holding several datasets, and maps a pattern to its other split', () => {
    const dir = tmpDir();
    makeShards(dir, [100], 'a', 'train');
    makeShards(dir, [100], 'b', 'train');
    makeShards(dir, [100], 'a', 'val');
    expect(() => findShards(dir, 'train')).toThrow(/2 datasets \(a, b\).*a_train/);
    expect(findShards(dir, 'val')).toHaveLength(1);
    expect(splitPattern(path.join(dir, 'a_train'), 'val')).toBe(path.join(dir, 'a_val'));
    expect(splitPattern(path.join(dir, 'a_train_000000.bin'), 'val')).toBe(path.join(dir, 'a_val'));
    expect(splitPattern(dir, 'val')).toBe(dir);
    expect(() => splitPattern(path.join(dir, 'weird'), 'val')).toThrow(/cannot tell/);
  });

  it('gives clear errors for missing shards, too little data and foreign tokens', () => {
    const dir = tmpDir();
    expect(() => findShards(dir, 'train')).toThrow(/no 'train' shards.*tinyllm prepare/);
    expect(() => new ShardLoader({ pattern: path.join(dir, 'x_train'), B: 1, T: 4 })).toThrow(/no shards named x_train_000000.bin/);
    makeShards(dir, [5]);
    expect(() => new ShardLoader({ pattern: dir, B: 1, T: 8 })).toThrow(/too few for one sequence/);
    // every id is checked when the loader opens, not when a batch happens to reach it
    expect(() => new ShardLoader({ pattern: dir, B: 1, T: 4, vocabSize: 3 })).toThrow(/d_train_000000\.bin: token id 3 at token offset 3 \(byte 1030\) is outside the vocabulary of 3 ids/);
  });
});
