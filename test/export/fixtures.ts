// Shared helpers for the export tests: small random GPT-2 configs, random weights, temp directories.
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, expect } from 'vitest';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { paramsFromFlat, type NamedParams } from '../../src/export/params.js';
import { Rng } from '../../src/util/rng.js';
import { UserError } from '../../src/util/errors.js';
import { BpeTokenizer } from '../../src/tokenizer/bpe.js';
import { EOT_TEXT } from '../../src/tokenizer/types.js';

/** Tiny configs: every dimension small, head size 1..4, vocab sizes around the 128 padding multiple. */
export const smallConfig: fc.Arbitrary<GPT2Config> = fc
  .record({
    nLayer: fc.integer({ min: 1, max: 3 }),
    nHead: fc.integer({ min: 1, max: 3 }),
    headSize: fc.integer({ min: 1, max: 4 }),
    vocabSize: fc.integer({ min: 1, max: 300 }),
    blockSize: fc.integer({ min: 1, max: 12 }),
  })
  .map(({ headSize, ...c }) => ({ ...c, nEmbd: c.nHead * headSize }));

export function randomParams(config: GPT2Config, seed: number): { flat: Float32Array; params: NamedParams } {
  const rng = new Rng(seed);
  const flat = new Float32Array(numParams(config)).map(() => rng.normal(0, 0.5));
  return { flat, params: paramsFromFlat(config, flat) };
}

/** A fresh temp directory per test file, removed afterwards. */
export function tempDir(prefix: string): (name: string) => string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return (name) => path.join(dir, `${n++}-${name}`);
}

export function expectUserError(fn: () => unknown, ...parts: (string | RegExp)[]): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(UserError);
  for (const p of parts) expect((err as Error).message).toMatch(p);
}

/** A byte-level BPE with 256 byte tokens (id = byte), merges h+e and he+l, and <|endoftext|> = 258. */
export function tinyTokenizer(): BpeTokenizer {
  const utf8 = new TextEncoder();
  const tokens = [...Array(256).keys()].map((b) => new Uint8Array([b]));
  const [h, e, l] = [...utf8.encode('hel')];
  tokens.push(utf8.encode('he'), utf8.encode('hel'), utf8.encode(EOT_TEXT));
  return new BpeTokenizer({ tokens, merges: [[h, e, 256], [256, l, 257]], special: new Map([[EOT_TEXT, 258]]) });
}
