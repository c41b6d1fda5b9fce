// Parameter layout: preset sizes, one flat buffer in llm.c order with named views, GPT-2 initialisation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { GPT2_PRESETS, numParams, presetConfig } from '../../src/models/gpt2/config.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { ParamBuffer, plainF32, tensorTable } from '../../src/models/gpt2/params.js';

describe('GPT-2 parameters', () => {
  it('counts the presets as GPT-2 / TinyLLM do', () => {
    expect(numParams(presetConfig('124M'))).toBe(124_439_808);
    const counts = Object.keys(GPT2_PRESETS).map((k) => numParams(presetConfig(k as keyof typeof GPT2_PRESETS)));
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThan(counts[i - 1]);
    // 30M: V·C + 1024·C + L·(12C² + 13C) + 2C with L=6, C=384
    expect(counts[0]).toBe(50257 * 384 + 1024 * 384 + 6 * (12 * 384 * 384 + 13 * 384) + 2 * 384);
    expect(counts[0]).toBe(30_339_456);
  });

  it('counts a corrupt header\'s huge config without building its parameter list (nLayer = 2^31 - 1 ran out of memory)', () => {
    const L = 2 ** 31 - 1;
    expect(numParams({ nLayer: L, nHead: 1, nEmbd: 8, vocabSize: 10, blockSize: 4 })).toBe(14 * 8 + L * (12 * 64 + 13 * 8) + 16);
  });

  it('lays every tensor out back to back, with views that alias the flat buffer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 2, max: 9 }), (L, NH, V) => {
        const cfg = { nLayer: L, nHead: NH, nEmbd: 4 * NH, vocabSize: V, blockSize: 5 };
        const p = new ParamBuffer(cfg, plainF32);
        const table = tensorTable(cfg);
        expect(p.size).toBe(numParams(cfg));
        let off = 0;
        for (const e of table) {
          expect(e.offset).toBe(off);
          off += e.size;
          const v = p.get(e.name);
          expect(v.length).toBe(e.size);
          v[0] = 42;
          expect(p.data[e.offset]).toBe(42);
        }
        expect(p.tensors.h.length).toBe(L);
        expect(p.tensors.h[L - 1].fcprojw).toBe(p.get(`h.${L - 1}.mlp.c_proj.weight`));
        expect(() => p.get('lm_head.weight')).toThrow(/no GPT-2 parameter/);
      }),
      { numRuns: 20 },
    );
  });

  it('initialises as GPT-2: N(0, 0.02), residual projections scaled by 1/sqrt(2L), LayerNorm 1/0, biases 0', () => {
    const cfg = { nLayer: 4, nHead: 4, nEmbd: 64, vocabSize: 500, blockSize: 64 };
    const m = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: 5 });
    const std = (a: ArrayLike<number>) => Math.sqrt(Array.from(a).reduce((s, x) => s + x * x, 0) / a.length);
    expect(std(m.params.get('wte.weight'))).toBeCloseTo(0.02, 3);
    expect(std(m.params.get('h.0.mlp.c_fc.weight'))).toBeCloseTo(0.02, 3);
    expect(std(m.params.get('h.3.mlp.c_proj.weight'))).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(std(m.params.get('h.1.attn.c_proj.weight'))).toBeCloseTo(0.02 / Math.sqrt(8), 3);
    expect(m.params.get('h.2.ln_1.weight').every((x) => x === 1)).toBe(true);
    expect(m.params.get('ln_f.weight').every((x) => x === 1)).toBe(true);
    expect(m.params.get('ln_f.bias').every((x) => x === 0)).toBe(true);
    expect(m.params.get('h.0.attn.c_attn.bias').every((x) => x === 0)).toBe(true);
    const again = new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: 5 });
    expect(again.params.data).toEqual(m.params.data);
    expect(new GPT2(cfg, { kernels: ref, alloc: plainF32, seed: null }).params.data.every((x) => x === 0)).toBe(true);
  });
});
