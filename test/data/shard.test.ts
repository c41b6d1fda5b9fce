import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readShardHeader, readShardTokens, SHARD_HEADER_BYTES } from '../../src/data/shard.js';
import { UserError } from '../../src/util/errors.js';
import { tmpDir, writeShard } from './helpers.js';

/** The llm.c layout built by hand from data_common.py: int32[256] header (magic, version, count), then uint16 LE. */
function llmcBytes(tokens: number[]): Buffer {
  const header = Buffer.alloc(1024);
  header.writeInt32LE(20240520, 0);
  header.writeInt32LE(1, 4);
  header.writeInt32LE(tokens.length, 8);
  const body = Buffer.alloc(tokens.length * 2);
  tokens.forEach((t, i) => body.writeUInt16LE(t, 2 * i));
  return Buffer.concat([header, body]);
}

describe('shard format', () => {
  const dir = tmpDir();

  it('writes exactly the llm.c bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 65535 }), { maxLength: 70000 }), (tokens) => {
        const f = writeShard(path.join(dir, 'x_train_000000.bin'), tokens);
        expect(fs.readFileSync(f).equals(llmcBytes(tokens))).toBe(true);
      }),
      { numRuns: 15 },
    );
  });

  it('writes the llm.c bytes across several 64K-token write buffers', () => {
    const tokens = Array.from({ length: 150_001 }, (_, i) => (i * 31) % 65536);
    const f = writeShard(path.join(dir, 'big_train_000000.bin'), tokens);
    expect(fs.readFileSync(f).equals(llmcBytes(tokens))).toBe(true);
  });

  it('reads back header and tokens', () => {
    const tokens = Array.from({ length: 5000 }, (_, i) => (i * 7919) % 65536);
    const f = writeShard(path.join(dir, 'rt_train_000000.bin'), tokens);
    expect(readShardHeader(f)).toEqual({ magic: 20240520, version: 1, numTokens: 5000 });
    const fd = fs.openSync(f, 'r');
    const out = new Uint16Array(100);
    readShardTokens(fd, 1234, 100, out);
    fs.closeSync(fd);
    expect(Array.from(out)).toEqual(tokens.slice(1234, 1334));
  });

  it('rejects tokens that do not fit in uint16', () => {
    expect(() => writeShard(path.join(dir, 'bad.bin'), [1, 65536])).toThrow(/uint16/);
  });

  const bad = (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  it('names a wrong magic number and says how to fix it', () => {
    const b = llmcBytes([1, 2, 3]);
    b.writeInt32LE(20240801, 0);
    const f = bad('magic.bin', b);
    expect(() => readShardHeader(f)).toThrow(UserError);
    expect(() => readShardHeader(f)).toThrow(/magic number 20240801, expected 20240520.*tinyllm prepare/);
  });

  it('rejects an unknown version', () => {
    const b = llmcBytes([1, 2, 3]);
    b.writeInt32LE(2, 4);
    expect(() => readShardHeader(bad('version.bin', b))).toThrow(/version 2 is not supported/);
  });

  it('detects truncated and oversized files', () => {
    const b = llmcBytes([1, 2, 3, 4]);
    expect(() => readShardHeader(bad('trunc.bin', b.subarray(0, b.length - 2)))).toThrow(/promises 4 tokens.*truncated/);
    expect(() => readShardHeader(bad('long.bin', Buffer.concat([b, Buffer.alloc(2)])))).toThrow(/longer than its header/);
    expect(() => readShardHeader(bad('tiny.bin', b.subarray(0, 100)))).toThrow(/too short/);
  });

  it('says when the file is missing', () => {
    expect(() => readShardHeader(path.join(dir, 'nope.bin'))).toThrow(/cannot open.*ENOENT/);
  });

  it('header is 1024 bytes', () => expect(SHARD_HEADER_BYTES).toBe(1024));
});
