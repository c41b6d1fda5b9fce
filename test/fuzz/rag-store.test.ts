// Fuzzed retrieval stores (src/rag/store.ts): the magic, version and u32 header length, the JSON header
// (rows, key, blobs) and the keys blob, read with readStore.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStore } from '../../src/rag/retrieve.js';
import { readStore, writeStore, type Store } from '../../src/rag/store.js';
import { expectRefused, fuzzReader, type JsonCodec, type ReaderTarget } from './harness.js';
import { fileBytes } from './seeds.js';

const FILE = 'store.tlx';

/** The JSON header; `set` rewrites the u32 length before it. */
const storeJson: JsonCodec = {
  get: (b) => Buffer.from(b.subarray(16, 16 + new DataView(b.buffer, b.byteOffset).getUint32(12, true))).toString('utf8'),
  set(b, text) {
    const json = Buffer.from(text, 'utf8');
    const out = Buffer.concat([Buffer.from(b.subarray(0, 16)), json, b.subarray(16 + new DataView(b.buffer, b.byteOffset).getUint32(12, true))]);
    out.writeUInt32LE(json.length, 12);
    return out;
  },
};

const rows = [
  { instruction: 'Classify', input: 'p: 1, 2.5, -3', output: 'Tap' },
  { instruction: '', input: 'p: 4, 5, 6e1', output: 'Hold' },
  { instruction: '', input: 'p: 0, 0.5, 9', output: 'Double tap' },
];

export const storeTarget: ReaderTarget<Store> = {
  files: { [FILE]: fileBytes((f) => writeStore(f, buildStore(rows, 'numbers', 'rows.jsonl'))) },
  fields: { version: { file: FILE, offset: 8, size: 4 }, headerLength: { file: FILE, offset: 12, size: 4 } },
  json: { [FILE]: storeJson },
  read: (dir) => readStore(path.join(dir, FILE)),
  check(s) {
    expect(s.keys.length).toBe(s.rows.length * s.dim);
    for (const r of s.rows) expect(typeof r.input).toBe('string');
  },
};

describe('fuzzed retrieval stores', () => {
  it('every mutation reads back or gives a UserError naming the file', () => fuzzReader(storeTarget, { numRuns: 150 }));

  it('refuses a keys blob that does not match count × dim', () =>
    expectRefused(storeTarget, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, dim: 4 }) }], /store\.tlx: header: .*4 numbers|store\.tlx: header: the keys blob/));
});
