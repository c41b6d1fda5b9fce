// Byte for byte against llama.cpp's own GGUF writer: test/fixtures/export/tiny-gpt2-{f16,q8_0}.gguf were written by
// gguf-py (GGUFWriter, and gguf.quants for Q8_0; see make_tiny_gguf.py) from weights given by a formula. Our
// saveGgufGPT2 on the same weights and tokenizer must produce the same bytes (metadata encoding, tensor infos,
// alignment, F16 rounding, Q8_0 blocks), and our reader must load the reference files back.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { loadGgufGPT2, saveGgufGPT2 } from '../../src/export/gguf-gpt2.js';
import { paramsFromFlat } from '../../src/export/params.js';
import { tempDir, tinyTokenizer } from './fixtures.js';

const cfg: GPT2Config = { blockSize: 8, vocabSize: 260, nLayer: 1, nHead: 2, nEmbd: 32 };
const fixture = (dtype: string) => fileURLToPath(new URL(`../fixtures/export/tiny-gpt2-${dtype}.gguf`, import.meta.url));
const tmp = tempDir('tinyllm-gguf-ref-');

/** The fixture's weights: w[i] = ((i·7919 + 13) mod 1999 − 999) / 1024 over the flat parameter index. */
function formulaWeights(): Float32Array {
  return Float32Array.from({ length: numParams(cfg) }, (_, i) => (((i * 7919 + 13) % 1999) - 999) / 1024);
}

describe('GGUF writer vs gguf-py', () => {
  for (const dtype of ['f16', 'q8_0'] as const) {
    it(`writes the ${dtype} file gguf-py writes, byte for byte`, () => {
      const out = tmp(`${dtype}.gguf`);
      saveGgufGPT2(out, cfg, paramsFromFlat(cfg, formulaWeights()), tinyTokenizer().model, { dtype, name: 'tiny' });
      const ours = fs.readFileSync(out);
      const ref = fs.readFileSync(fixture(dtype));
      const firstDiff = ours.findIndex((b, i) => b !== ref[i]);
      expect({ length: ours.length, firstDiff }).toEqual({ length: ref.length, firstDiff: -1 });
    });

    it(`reads the ${dtype} file gguf-py wrote`, () => {
      const g = loadGgufGPT2(fixture(dtype));
      expect(g.config).toEqual(cfg);
      const w = formulaWeights();
      let worst = 0;
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(g.flat[i] - w[i]));
      // k/1024 with |k| < 2048 is exact in f16; Q8_0 is within half a step plus the f16 rounding of its scale
      if (dtype === 'f16') expect(worst).toBe(0);
      else expect(worst).toBeGreaterThan(0);
      expect(worst).toBeLessThanOrEqual((999 / 1024 / 127) * (0.5 + 127 * 2 ** -11));
      expect(g.tokenizer?.encode('hello<|endoftext|>', { allowSpecial: true })).toEqual([257, 108, 111, 258]);
    });
  }
});
