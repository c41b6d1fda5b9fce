// Fuzzed retrieval stores (src/rag/store.ts): the magic, version and u32 header length, the JSON header
// (rows, key, blobs) and the keys blob, read with readStore.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildStore } from '../../src/rag/retrieve.js';
import { readStore, writeStore, type Store } from '../../src/rag/store.js';
import { expectRefused, fuzzReader, runCase, type ReaderTarget } from './harness.js';
import { fixHeaderCrc, headerCodec, toVersion1 } from './header-crc.js';
import { fileBytes } from './seeds.js';

const FILE = 'store.tlx';

const rows = [
  { instruction: 'Classify', input: 'p: 1, 2.5, -3', output: 'Tap' },
  { instruction: '', input: 'p: 4, 5, 6e1', output: 'Hold' },
  { instruction: '', input: 'p: 0, 0.5, 9', output: 'Double tap' },
];

export const storeTarget: ReaderTarget<Store> = {
  files: { [FILE]: fileBytes((f) => writeStore(f, buildStore(rows, 'numbers', 'rows.jsonl'))) },
  fields: { version: { file: FILE, offset: 8, size: 4 }, headerLength: { file: FILE, offset: 12, size: 4 }, headerCrc: { file: FILE, offset: 16, size: 4 } },
  json: { [FILE]: headerCodec(8, true) }, // the keys blob follows the header
  fixup: (_f, b) => fixHeaderCrc(b),
  read: (dir) => readStore(path.join(dir, FILE)),
  check(s, _dir, c) {
    if (!c.fix) expect(s.rows).toEqual(rows); // the header's CRC was not repaired: it is the one written
    expect(s.keys.length).toBe(s.rows.length * s.dim);
    for (const r of s.rows) expect(typeof r.input).toBe('string');
  },
};

describe('fuzzed retrieval stores', () => {
  it('every mutation reads back or gives a UserError naming the file', () => fuzzReader(storeTarget, { numRuns: 150 }));

  it('refuses a changed header whose checksum was not repaired (version 1 had none: an edited row read as data)', () =>
    expectRefused(
      storeTarget,
      { mutations: [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, rows: h.rows.map((r: { output: string }) => ({ ...r, output: 'Tap' })) }) }], fix: false },
      /store\.tlx: header checksum mismatch: the header is corrupted; rebuild the store with tinyllm index/,
    ));

  it('reads version 1 stores (no header checksum), as tinyllm wrote them before', async () => {
    const v1 = (b: Uint8Array) => toVersion1(Buffer.from(Buffer.from(b).toString('latin1').replace('"version":2', '"version":1'), 'latin1'));
    const out = await runCase(storeTarget, { mutations: [{ kind: 'edit', file: FILE, apply: v1 }], fix: false });
    if (!out.ok) throw out.error;
    expect(out.result.rows).toEqual(rows);
    expect(Array.from(out.result.keys)).toEqual(Array.from(buildStore(rows, 'numbers', 'rows.jsonl').keys));
  });

  it('refuses a keys blob that does not match count × dim', () =>
    expectRefused(storeTarget, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, dim: 4 }) }], /store\.tlx: header: .*4 numbers|store\.tlx: header: the keys blob/));
});
