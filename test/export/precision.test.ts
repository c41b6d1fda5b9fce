// Per-block precision (src/export/precision.ts): a block's sensitivity equals the loss change of the plain f32 model
// with that block's weights replaced by their dequantized int8 values (an independent computation), and the choice
// keeps the most sensitive blocks f32 until the predicted perplexity rise fits the bound.
import { describe, expect, it } from 'vitest';
import { blockSensitivity, choosePrecision, int8BySensitivity, keepOneMore, parseBlockList, windowLoss } from '../../src/export/precision.js';
import { dequantizeInt8, quantizeInt8 } from '../../src/export/quantize.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { Rng } from '../../src/util/rng.js';
import { tinyConfig, tinyModel } from '../runtime/helpers.js';

describe('block sensitivity', () => {
  it('equals the loss change of the f32 model with only that block dequantized from int8', () => {
    const model = tinyModel(7);
    const rng = new Rng(3);
    const tokens = Array.from({ length: 150 }, () => rng.int(257));
    const C = tinyConfig.nEmbd;
    for (const group of [32, 0] as const) {
      const s = blockSensitivity(model, tokens, 64, group);
      expect(s.base).toBeCloseTo(windowLoss(model, tokens, 64), 10);
      for (let l = 0; l < tinyConfig.nLayer; l++) {
        const copy = new GPT2(tinyConfig, { seed: null });
        copy.params.data.set(model.params.data);
        for (const [site, rows, cols] of [['attn.c_attn', 3 * C, C], ['attn.c_proj', C, C], ['mlp.c_fc', 4 * C, C], ['mlp.c_proj', C, 4 * C]] as const) {
          const w = copy.params.get(`h.${l}.${site}.weight`) as Float32Array;
          dequantizeInt8(quantizeInt8(Float32Array.from(w), rows, cols, group), w);
        }
        const want = windowLoss(copy, tokens, 64) - s.base;
        expect(Math.abs(s.delta[l] - want)).toBeLessThan(1e-4 * Math.abs(s.base));
        expect(s.delta[l]).not.toBe(0);
      }
    }
  });

  it('keeps the most sensitive blocks f32 while the predicted rise exceeds the bound', () => {
    const s = { base: 2, delta: [0.01, 0.001, 0.1, -0.002], tokens: 100 };
    expect(choosePrecision(s, 1e9).keepF32).toEqual([]);
    expect(choosePrecision(s, -1).keepF32).toEqual([0, 1, 2, 3]); // not even the block that lowers the loss fits
    expect(choosePrecision(s, 0).keepF32).toEqual([0, 2]); // -0.002 + 0.001 < 0
    const mid = choosePrecision(s, 100 * Math.expm1(0.0095));
    expect(mid.keepF32).toEqual([2]);
    expect(mid.predicted).toBeCloseTo(100 * Math.expm1(0.009), 10);
    expect(choosePrecision(s, 100 * Math.expm1(0.005)).keepF32).toEqual([0, 2]);
  });

  it('when the measured rise is above the bound, takes the int8 blocks back to f32 one at a time, most sensitive first', () => {
    const s = { base: 2, delta: [0.01, 0.001, 0.1, -0.002], tokens: 100 };
    const { keepF32 } = choosePrecision(s, 100 * Math.expm1(0.0095)); // [2]
    const spare = int8BySensitivity(s, keepF32);
    expect(spare).toEqual([0, 1, 3]);
    const steps: number[] = [];
    let kept: number[] = keepF32;
    for (let more = keepOneMore(kept, spare); more; more = keepOneMore(kept, spare)) {
      steps.push(more.block);
      kept = more.keepF32;
    }
    expect(steps).toEqual([0, 1, 3]);
    expect(kept).toEqual([0, 1, 2, 3]);
    expect(keepOneMore([0, 1, 2, 3], spare)).toBeNull();
  });

  it('parses block lists and names the flag when a block does not exist', () => {
    expect(parseBlockList('1, 0,1', tinyConfig)).toEqual([0, 1]);
    expect(() => parseBlockList('2', tinyConfig)).toThrow(/--keep-f32: '2' is not a block of this model; give block numbers 0\.\.1/);
  });
});
