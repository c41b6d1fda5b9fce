// The fuzz harness itself: it must report each way a reader can break the contract, and pass a good one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/util/errors.js';
import { caseFiles, fuzzReader, runCase, FuzzViolation, WHOLE_FILE_JSON, type ReaderTarget } from './harness.js';

const FILE = 'x.json';
/** A careful reader of {"n": <count>}: checks the count against the file before allocating. */
const careful: ReaderTarget<number> = {
  files: { [FILE]: '{"n": 3, "pad": "abc"}' },
  json: { [FILE]: WHOLE_FILE_JSON },
  read(dir) {
    const file = path.join(dir, FILE);
    const text = fs.readFileSync(file, 'utf8');
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      throw new UserError(`${file}: not JSON`);
    }
    const n = (v as { n?: unknown } | null)?.n;
    if (!Number.isSafeInteger(n) || (n as number) < 0 || (n as number) > text.length) throw new UserError(`${file}: bad n`);
    return new Float32Array(n as number).length;
  },
};
const broken = (read: ReaderTarget<number>['read']): ReaderTarget<number> => ({ ...careful, read });
const one = (value: unknown) => ({ mutations: [{ kind: 'json' as const, file: FILE, path: [0], op: 'set' as const, value }], fix: false });

describe('fuzz harness', () => {
  it('passes a careful reader', () => fuzzReader(careful, { numRuns: 100 }));

  it('applies truncation, bit flips, splices, integer fields and JSON edits to a copy of the seed', () => {
    const t: ReaderTarget<unknown> = { files: { a: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) }, fields: { f: { file: 'a', offset: 2, size: 2 } }, read: () => 0 };
    const get = (m: Parameters<typeof caseFiles>[1]['mutations']) => Array.from(caseFiles(t, { mutations: m, fix: false }).get('a') as Uint8Array);
    expect(get([{ kind: 'truncate', file: 'a', at: 11 }])).toEqual([1, 2, 3]);
    expect(get([{ kind: 'flip', file: 'a', bits: [8 * 9 + 1] }])).toEqual([1, 0, 3, 4, 5, 6, 7, 8]);
    expect(get([{ kind: 'splice', file: 'a', at: 2, remove: 3, insert: [9] }])).toEqual([1, 2, 9, 6, 7, 8]);
    expect(get([{ kind: 'int', field: 'f', value: -2 }])).toEqual([1, 2, 0xfe, 0xff, 5, 6, 7, 8]);
    expect(Array.from(t.files.a as Uint8Array)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const json = caseFiles(careful as ReaderTarget<unknown>, one(-1)).get(FILE) as Uint8Array;
    expect(JSON.parse(Buffer.from(json).toString())).toEqual({ n: -1, pad: 'abc' });
  });

  it('reports a reader that throws something other than a UserError', async () => {
    await expect(runCase(broken(() => JSON.parse('{')), one(1))).rejects.toThrow(/reader threw SyntaxError/);
  });

  it('reports a UserError that does not name the file, or is not one short line', async () => {
    await expect(runCase(broken(() => { throw new UserError('something is wrong'); }), one(1))).rejects.toThrow(/does not name the file/);
    await expect(runCase(broken((d) => { throw new UserError(`${d}/${FILE}: bad\nvalue`); }), one(1))).rejects.toThrow(FuzzViolation);
    await expect(runCase(broken((d) => { throw new UserError(`${d}/${FILE}: ${'x'.repeat(2000)}`); }), one(1))).rejects.toThrow(/not one short line/);
  });

  it('reports a reader that allocates what a header claims without checking it against the file', async () => {
    // it keeps what it allocated, as a reader keeps its tensors: a buffer dropped before the measurement may
    // already be collected (it was once, on Node 22), and the harness bounds what a reader holds
    let held: Float32Array | null = null;
    const trusting = broken((d) => (held = new Float32Array((JSON.parse(fs.readFileSync(path.join(d, FILE), 'utf8')) as { n: number }).n)).length);
    await expect(runCase(trusting, one(2 ** 25))).rejects.toThrow(/holds \d+ bytes of array buffers/);
    held = null;
  });

  it('reports a result that fails the target check', async () => {
    await expect(runCase({ ...careful, check: (n) => expect(n).toBeLessThan(2) }, one(3))).rejects.toThrow();
  });
});
