// Fuzzed safetensors files (src/export/safetensors.ts): the u64 header length, the JSON header (dtypes,
// shapes, data_offsets, __metadata__) and the data buffer, read whole with readSafetensors.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from '../../src/export/safetensors.js';
import { expectRefused, fuzzReader, type ReaderTarget } from './harness.js';
import { fileBytes, safetensorsJson } from './seeds.js';

const FILE = 'model.safetensors';

const values = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 3);

export const safetensorsTarget: ReaderTarget<ReturnType<typeof readSafetensors>> = {
  files: {
    [FILE]: fileBytes((f) =>
      writeSafetensors(
        f,
        [
          { name: 'a.weight', shape: [4, 6], data: values(24) },
          { name: 'a.bias', shape: [6], data: values(6), dtype: 'f16' },
          { name: 'b', shape: [2, 3, 2], data: values(12), dtype: 'bf16' },
          { name: 'scalar', shape: [], data: values(1) },
          { name: 'empty', shape: [0, 5], data: values(0) },
        ],
        { format: 'pt' },
      ),
    ),
  },
  fields: { headerLength: { file: FILE, offset: 0, size: 8 }, headerLengthHigh: { file: FILE, offset: 4, size: 4 } },
  json: { [FILE]: safetensorsJson },
  read: (dir) => readSafetensors(path.join(dir, FILE)),
  check(r) {
    for (const [name, t] of r.tensors) expect(t.data.length, name).toBe(t.shape.reduce((a, b) => a * b, 1));
  },
};

describe('fuzzed safetensors files', () => {
  it('every mutation reads back or gives a UserError naming the file', () => fuzzReader(safetensorsTarget, { numRuns: 200 }));

  // Defects the fuzzing found, replayed on the seed file.
  const long = 'x'.repeat(5000);
  it('quotes a huge dtype, shape or tensor name in at most 80 characters (was the whole value)', async () => {
    const t = safetensorsTarget;
    const set = (field: string, v: unknown) => (h: Record<string, Record<string, unknown>>) => ({ ...h, b: { ...h.b, [field]: v } });
    await expectRefused(t, [{ kind: 'editJson', file: FILE, apply: set('dtype', long) }], /tensor 'b': unknown dtype "x+…/);
    await expectRefused(t, [{ kind: 'editJson', file: FILE, apply: set('shape', Array(3000).fill(1)) }], /data_offsets \[\d+,\d+\] span \d+ bytes, but shape \[1,1,1,.*…/);
    await expectRefused(t, [{ kind: 'editJson', file: FILE, apply: (h) => ({ ...h, [long]: 1 }) }], /tensor 'x+…': header entry must be an object/);
  });

  it("keeps JSON.parse's quote of broken header bytes on one line", () =>
    expectRefused(safetensorsTarget, [{ kind: 'edit', file: FILE, apply: (b) => safetensorsJson.set(b, safetensorsJson.get(b).replace(':', ':Z\n')) }], /not valid UTF-8 JSON \(Unexpected token (?:'Z'|Z in JSON at position \d+\))/));
});
