// Fuzzed GGUF reader: a valid small GPT-2 GGUF file, truncated, with bytes flipped, or with a count/length field
// replaced by a huge value, must load (holding memory in proportion to the file) or fail with a UserError, never a
// RangeError, a huge allocation or a hang: every count is checked against the bytes left before anything is allocated.
import fc from 'fast-check';
import * as fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { GgufReader, writeGguf } from '../../src/export/gguf.js';
import { saveGgufGPT2 } from '../../src/export/gguf-gpt2.js';
import { loadWeights } from '../../src/export/load.js';
import { UserError } from '../../src/util/errors.js';
import { randomParams, tempDir, tinyTokenizer } from './fixtures.js';

const tmp = tempDir('tinyllm-gguf-fuzz-');
const cfg: GPT2Config = { blockSize: 4, vocabSize: 260, nLayer: 1, nHead: 1, nEmbd: 32 };
const valid = tmp('valid.gguf');
saveGgufGPT2(valid, cfg, randomParams(cfg, 5).params, tinyTokenizer().model, { dtype: 'q8_0' });
const bytes = new Uint8Array(fs.readFileSync(valid));
const r = new GgufReader(valid);
const headerEnd = r.dataOffset; // mutations aimed at the header, where the counts and lengths live
r.close();

/** Loads mutated bytes; returns 'ok' or 'user-error', rethrows anything else. */
function load(data: Uint8Array): 'ok' | 'user-error' {
  const file = tmp('fuzz.gguf');
  fs.writeFileSync(file, data);
  const before = process.memoryUsage().arrayBuffers;
  try {
    const w = loadWeights(file);
    // what a successful load holds is bounded by the input: the weights (and tokenizer) the bytes describe
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThanOrEqual(32 * 2 ** 20 + 16 * data.length);
    expect(w.flat.length * 4).toBeLessThanOrEqual(8 * data.length);
    return 'ok';
  } catch (e) {
    if (e instanceof UserError) return 'user-error';
    throw e;
  } finally {
    fs.rmSync(file);
  }
}

describe('GGUF reader under corruption', () => {
  it('the unmodified file loads', () => {
    expect(load(bytes)).toBe('ok');
  });

  it('every truncation gives a UserError', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bytes.length - 1 }), (n) => {
        expect(load(bytes.subarray(0, n))).toBe('user-error');
      }),
      { numRuns: 150 },
    );
  });

  it('bit flips anywhere give a clean load or a UserError', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ at: fc.integer({ min: 0, max: bytes.length - 1 }), bit: fc.integer({ min: 0, max: 7 }) }), { minLength: 1, maxLength: 4 }), fc.boolean(), (flips, inHeader) => {
        const data = bytes.slice();
        for (const f of flips) data[inHeader ? f.at % headerEnd : f.at] ^= 1 << f.bit;
        load(data);
      }),
      { numRuns: 300 },
    );
  });

  it('huge counts and lengths in any header field fail fast with a UserError', () => {
    const huge = [2n ** 32n, 2n ** 40n, 2n ** 53n - 1n, 2n ** 63n, 2n ** 64n - 1n, BigInt(bytes.length), BigInt(bytes.length + 1)];
    fc.assert(
      fc.property(fc.integer({ min: 4, max: headerEnd - 8 }), fc.constantFrom(...huge), fc.constantFrom(4, 8), (at, value, width) => {
        const data = bytes.slice();
        const dv = new DataView(data.buffer);
        if (width === 8) dv.setBigUint64(at, value, true);
        else dv.setUint32(at, Number(value & 0xffffffffn), true);
        load(data);
      }),
      { numRuns: 300 },
    );
  });

  it('names the problem: a huge array length, a wrong magic, a bad version', () => {
    const file = tmp('named.gguf');
    const withU64 = (at: number, v: bigint) => {
      const d = bytes.slice();
      new DataView(d.buffer).setBigUint64(at, v, true);
      return d;
    };
    fs.writeFileSync(file, withU64(8, 2n ** 40n)); // tensor count
    expect(() => new GgufReader(file)).toThrow(/claims 1099511627776 tensors/);
    const d = bytes.slice();
    d[0] = 0x58;
    fs.writeFileSync(file, d);
    expect(() => new GgufReader(file)).toThrow(/not a GGUF file/);
    const v = bytes.slice();
    new DataView(v.buffer).setUint32(4, 3 << 24, true); // version 3 written big-endian
    fs.writeFileSync(file, v);
    expect(() => new GgufReader(file)).toThrow(/big-endian/);
    // the token list's length: find "tokenizer.ggml.tokens", skip its type (u32) and item type (u32)
    const key = Buffer.from(bytes).indexOf('tokenizer.ggml.tokens');
    fs.writeFileSync(file, withU64(key + 'tokenizer.ggml.tokens'.length + 8, 2n ** 50n));
    expect(() => new GgufReader(file)).toThrow(/claims 1125899906842624 string items/);
  });

  it('hyperparameters the tensors do not back (huge block count or context) fail before any allocation', () => {
    const src = new GgufReader(valid);
    const tensors = [...src.tensors.values()].map((t) => ({ name: t.name, dims: t.dims, type: src.typeOf(t.name), data: src.readFloat32(t.name) }));
    const md = new Map(src.metadata);
    src.close();
    for (const [key, value, message] of [
      ['gpt2.block_count', 2 ** 31, /block_count is 2147483648 but the file has 16 tensors/],
      ['gpt2.context_length', 2 ** 31, /'position_embd.weight' has dims \[32,4\], expected \[32,2147483648\]/],
      ['gpt2.embedding_length', 2 ** 31, /token_embd.weight has dims \[32,260\], expected \[2147483648/],
      ['gpt2.attention.head_count', 0, /must be a positive integer/],
    ] as const) {
      const file = tmp('hp.gguf');
      writeGguf(file, new Map([...md, [key, { type: 'u32', value }]]), tensors);
      expect(() => loadWeights(file)).toThrow(message);
    }
  });
});
