// Fuzzed Hugging Face GPT-2 checkpoints (src/export/hf-gpt2.ts): config.json (sizes, model type, options)
// and model.safetensors (names, shapes, dtypes, the tied lm_head), loaded by loadHFGPT2 and loadWeights.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadHFGPT2, saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { readSafetensors, writeSafetensors } from '../../src/export/safetensors.js';
import { loadWeights } from '../../src/export/load.js';
import { numParams, type GPT2Config } from '../../src/models/gpt2/config.js';
import { randomParams } from '../export/fixtures.js';
import { expectRefused, fuzzReader, WHOLE_FILE_JSON, type ReaderTarget } from './harness.js';
import { fileBytes, safetensorsJson, withFile } from './seeds.js';

const cfg: GPT2Config = { blockSize: 4, vocabSize: 20, nLayer: 1, nHead: 2, nEmbd: 4 };
const { params } = randomParams(cfg, 2);
const CONFIG = 'config.json';
const WEIGHTS = 'model.safetensors';
const INDEX = 'model.safetensors.index.json';

/** One file of the directory saveHFGPT2 writes (f16 weights, to exercise the conversion). */
const saved = (name: string) => fileBytes((f) => saveHFGPT2(path.dirname(f), cfg, params, { dtype: 'f16' }), name);

export const hfTarget: ReaderTarget<GPT2Config> = {
  files: { [CONFIG]: saved(CONFIG), [WEIGHTS]: saved(WEIGHTS) },
  fields: { headerLength: { file: WEIGHTS, offset: 0, size: 8 } },
  json: { [CONFIG]: WHOLE_FILE_JSON, [WEIGHTS]: safetensorsJson },
  read(dir) {
    const w = loadHFGPT2(dir);
    expect(w.flat.length).toBe(numParams(w.config));
    expect(loadWeights(dir).config).toEqual(w.config);
    return w.config;
  },
  check(c) {
    expect(c.nEmbd % c.nHead).toBe(0);
  },
};

/** The same weights sharded in two files with a model.safetensors.index.json, as save_pretrained does for big models. */
function shardedFiles(): Record<string, Uint8Array> {
  const { tensors } = withFile(hfTarget.files[WEIGHTS] as Uint8Array, readSafetensors);
  const entries = [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
  const parts = [entries.slice(0, 7), entries.slice(7)];
  const names = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
  const weightMap = Object.fromEntries(parts.flatMap((p, i) => p.map((t) => [t.name, names[i]])));
  return {
    [CONFIG]: hfTarget.files[CONFIG] as Uint8Array,
    [INDEX]: new Uint8Array(Buffer.from(JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }))),
    ...Object.fromEntries(names.map((n, i) => [n, fileBytes((f) => writeSafetensors(f, parts[i], { format: 'pt' }))])),
  };
}

const shardedTarget: ReaderTarget<GPT2Config> = { ...hfTarget, files: shardedFiles(), fields: {}, json: { [INDEX]: WHOLE_FILE_JSON, [CONFIG]: WHOLE_FILE_JSON } };

describe('fuzzed Hugging Face GPT-2 checkpoints', () => {
  it('every mutation loads or gives a UserError naming the file', () => fuzzReader(hfTarget, { numRuns: 200 }));
  it('every mutation of a sharded checkpoint loads or gives a UserError naming the file', () => fuzzReader(shardedTarget, { numRuns: 100 }));

  // Defects the fuzzing found, replayed on the seed files.
  const setConfig = (field: string, v: unknown) => [{ kind: 'editJson' as const, file: CONFIG, apply: (c: object) => ({ ...c, [field]: v }) }];
  it('refuses a config.json whose sizes need more weights than model.safetensors holds, before allocating them', async () => {
    await expectRefused(hfTarget, setConfig('n_layer', 2 ** 31 - 1), /config\.json: n_layer=2147483647, but model\.safetensors holds only 16 tensors/);
    await expectRefused(hfTarget, setConfig('vocab_size', 2 ** 40), /model\.safetensors: tensor 'transformer\.wte\.weight' has shape \[20,4\], expected \[1099511627776,4\]/);
  });

  it('quotes a huge config value in at most 80 characters and keeps JSON.parse errors on one line', async () => {
    await expectRefused(hfTarget, setConfig('model_type', 'x'.repeat(5000)), /field "model_type" is "x+…/);
    await expectRefused(hfTarget, setConfig('layer_norm_epsilon', 'x'), /field "layer_norm_epsilon" is "x"/);
    // an object whose toString is not a function cannot be subtracted (was a TypeError, found by the fuzzer's seed 1382784216)
    await expectRefused(hfTarget, setConfig('layer_norm_epsilon', { toString: '' }), /field "layer_norm_epsilon" is \{"toString":""\}/);
    await expectRefused(hfTarget, [{ kind: 'edit', file: CONFIG, apply: (b) => Buffer.from(Buffer.from(b).toString().replace(':', ':Z\n')) }], /config\.json: not valid JSON \(Unexpected token (?:'Z'|Z in JSON at position \d+\))/);
  });

  it('refuses an index whose weight_map names a non-string or a file outside the checkpoint (was a TypeError)', async () => {
    const setMap = (v: unknown) => [{ kind: 'editJson' as const, file: INDEX, apply: (x: { weight_map: Record<string, unknown> }) => ({ ...x, weight_map: { ...x.weight_map, 'transformer.wte.weight': v } }) }];
    await expectRefused(shardedTarget, setMap(0), /model\.safetensors\.index\.json: "weight_map" names 0; it must map tensors to \.safetensors files/);
    await expectRefused(shardedTarget, setMap('../other/model.safetensors'), /"weight_map" names "\.\.\/other\/model\.safetensors"/);
  });
});
