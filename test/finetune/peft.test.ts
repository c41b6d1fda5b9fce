// PEFT adapter files for GPT-2. The expected names and shapes are written out from PEFT's rules, not from our
// code: keys 'base_model.model.' + the GPT2LMHeadModel module path + '.lora_A.weight' / '.lora_B.weight'
// (peft/utils/save_and_load.py drops the adapter name); lora_A = nn.Linear(in_features, r) -> (r, in) and
// lora_B = nn.Linear(r, out_features) -> (out, r) (peft/tuners/lora/layer.py update_layer), where a Conv1D's
// (in, out) come from its weight shape (in, out) (peft/tuners/tuners_utils.py _get_in_out_features); the
// file's metadata is {format: pt}; adapter_config.json is json.dumps(indent=2, sort_keys=True). `tinyllm merge`
// is checked on the raw Hugging Face Conv1D tensors: W_conv(in,out) += (alpha/r)·Aᵀ·Bᵀ.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { run as merge } from '../../src/cli/commands/merge.js';
import { saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { readSafetensors, SafetensorsReader, writeSafetensors } from '../../src/export/safetensors.js';
import { LoraAdapters } from '../../src/finetune/lora.js';
import { LORA_SITES, parseLoraTargets } from '../../src/finetune/method.js';
import { loadPeftAdapter, savePeftAdapter } from '../../src/finetune/peft.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { UserError } from '../../src/util/errors.js';
import { Rng } from '../../src/util/rng.js';
import { expectUserError, randomParams, tempDir } from '../export/fixtures.js';

const tmp = tempDir('tinyllm-peft-');
const cfg = { nLayer: 2, nHead: 2, nEmbd: 16, vocabSize: 50, blockSize: 8 };

function randomAdapter(targets = [...LORA_SITES], r = 4, seed = 1): LoraAdapters {
  const a = new LoraAdapters(cfg, { r, alpha: 32, dropout: 0.05, targets }, plainF32, seed);
  const rng = new Rng(seed);
  for (let i = 0; i < a.params.length; i++) a.params[i] = rng.normal(0, 0.5);
  return a;
}

describe('PEFT adapter layout', () => {
  it('tensor names, shapes, dtype and metadata as PEFT writes them for GPT-2', () => {
    const dir = tmp('adapter');
    savePeftAdapter(dir, randomAdapter(), { baseModel: 'gpt2' });
    const r = new SafetensorsReader(path.join(dir, 'adapter_model.safetensors'));
    const got = Object.fromEntries(r.header.entries.map((e) => [e.name, { dtype: e.dtype, shape: e.shape }]));
    expect(r.header.metadata).toEqual({ format: 'pt' });
    r.close();
    const want: Record<string, { dtype: string; shape: number[] }> = {};
    for (const l of [0, 1]) {
      const p = `base_model.model.transformer.h.${l}.`;
      // GPT-2 Conv1D weights (in, out): c_attn (16, 48), attn.c_proj (16, 16), c_fc (16, 64), mlp.c_proj (64, 16)
      for (const [mod, inF, outF] of [['attn.c_attn', 16, 48], ['attn.c_proj', 16, 16], ['mlp.c_fc', 16, 64], ['mlp.c_proj', 64, 16]] as const) {
        want[`${p}${mod}.lora_A.weight`] = { dtype: 'F32', shape: [4, inF] };
        want[`${p}${mod}.lora_B.weight`] = { dtype: 'F32', shape: [outF, 4] };
      }
    }
    expect(got).toEqual(want);
  });

  it('adapter_config.json: sorted keys, indent 2, LoRA fields PEFT reads', () => {
    const dir = tmp('config');
    savePeftAdapter(dir, randomAdapter(['attn.c_attn', 'mlp.c_proj']), { baseModel: 'runs/30M' });
    const text = fs.readFileSync(path.join(dir, 'adapter_config.json'), 'utf8');
    const j = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(j)).toEqual([...Object.keys(j)].sort());
    expect(text).toBe(JSON.stringify(j, null, 2));
    expect(j).toMatchObject({
      peft_type: 'LORA',
      task_type: 'CAUSAL_LM',
      r: 4,
      lora_alpha: 32,
      lora_dropout: 0.05,
      fan_in_fan_out: true,
      bias: 'none',
      target_modules: ['attn.c_attn', 'mlp.c_proj'],
      base_model_name_or_path: 'runs/30M',
      use_dora: false,
      use_rslora: false,
    });
  });

  it('round-trips, and loads PEFT variants: F16 tensors, an adapter name in the keys, only c_attn', () => {
    const dir = tmp('rt');
    const a = randomAdapter(['attn.c_attn', 'mlp.c_fc'], 3, 2);
    savePeftAdapter(dir, a);
    const b = loadPeftAdapter(dir, cfg);
    expect(b.config).toEqual({ r: 3, alpha: 32, dropout: 0.05, targets: ['attn.c_attn', 'mlp.c_fc'] });
    expect(Buffer.from(b.params.buffer).equals(Buffer.from(a.params.buffer))).toBe(true);

    const hub = tmp('hub');
    fs.mkdirSync(hub);
    fs.writeFileSync(path.join(hub, 'adapter_config.json'), JSON.stringify({ peft_type: 'LORA', r: 2, lora_alpha: 16, target_modules: ['c_attn'], fan_in_fan_out: true }));
    const rng = new Rng(3);
    const tensors = [0, 1].flatMap((l) => [
      { name: `base_model.model.transformer.h.${l}.attn.c_attn.lora_A.default.weight`, shape: [2, 16], data: Float32Array.from({ length: 32 }, () => rng.normal(0, 1)), dtype: 'f16' as const },
      { name: `base_model.model.transformer.h.${l}.attn.c_attn.lora_B.default.weight`, shape: [48, 2], data: Float32Array.from({ length: 96 }, () => rng.normal(0, 1)), dtype: 'f16' as const },
    ]);
    writeSafetensors(path.join(hub, 'adapter_model.safetensors'), tensors);
    const c = loadPeftAdapter(hub, cfg);
    expect(c.config).toEqual({ r: 2, alpha: 16, dropout: 0, targets: ['attn.c_attn'] });
    expect(c.scaling).toBe(8);
  });

  it('refuses what it cannot compute, naming file and field or tensor', () => {
    const dir = tmp('bad');
    savePeftAdapter(dir, randomAdapter());
    const cfgFile = path.join(dir, 'adapter_config.json');
    const good = fs.readFileSync(cfgFile, 'utf8');
    fs.writeFileSync(cfgFile, good.replace('"use_dora": false', '"use_dora": true'));
    expectUserError(() => loadPeftAdapter(dir, cfg), 'adapter_config.json', 'use_dora');
    fs.writeFileSync(cfgFile, good);
    expectUserError(() => loadPeftAdapter(dir, { ...cfg, nEmbd: 8 }), 'adapter_model.safetensors', 'lora_A.weight', 'shape [4,16]');
    expectUserError(() => loadPeftAdapter(dir, { ...cfg, nLayer: 1 }), 'block 1', 'base model has 1 blocks');
    expectUserError(() => loadPeftAdapter(tmp('missing'), cfg), 'adapter_config.json', 'cannot read');
  });

  it('parses target lists in short and PEFT names', () => {
    expect(parseLoraTargets('qkv,attn-proj,fc,mlp-proj')).toEqual([...LORA_SITES]);
    expect(parseLoraTargets('c_proj,c_attn')).toEqual(['attn.c_attn', 'attn.c_proj', 'mlp.c_proj']);
    expect(() => parseLoraTargets('q_proj')).toThrow(UserError);
  });
});

describe('tinyllm merge', () => {
  it('writes W_conv + (alpha/r)·Aᵀ·Bᵀ into the Hugging Face Conv1D tensors, others unchanged; refuses to overwrite without --force', async () => {
    const base = tmp('base');
    saveHFGPT2(base, cfg, randomParams(cfg, 4).params);
    const adapterDir = tmp('adapter');
    const adapter = randomAdapter(['attn.c_attn', 'mlp.c_proj'], 4, 5);
    savePeftAdapter(adapterDir, adapter);
    const out = tmp('merged');
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    await merge(['--base', base, '--adapter', adapterDir, '-o', out]);
    const before = readSafetensors(path.join(base, 'model.safetensors')).tensors;
    const after = readSafetensors(path.join(out, 'model.safetensors')).tensors;
    const ad = readSafetensors(path.join(adapterDir, 'adapter_model.safetensors')).tensors;
    const s = 32 / 4;
    let checked = 0;
    for (const [name, t] of after) {
      const m = /^transformer\.(h\.\d+\.(?:attn\.c_attn|mlp\.c_proj))\.weight$/.exec(name);
      const b = before.get(name)!;
      if (!m) {
        expect(Buffer.from(t.data.buffer).equals(Buffer.from(b.data.buffer)), name).toBe(true);
        continue;
      }
      const A = ad.get(`base_model.model.transformer.${m[1]}.lora_A.weight`)!;
      const B = ad.get(`base_model.model.transformer.${m[1]}.lora_B.weight`)!;
      const [inF, outF] = t.shape;
      expect(A.shape).toEqual([4, inF]);
      expect(B.shape).toEqual([outF, 4]);
      for (let i = 0; i < inF; i++) {
        for (let o = 0; o < outF; o++) {
          let d = 0;
          for (let k = 0; k < 4; k++) d += A.data[k * inF + i] * B.data[o * 4 + k];
          expect(Math.abs(t.data[i * outF + o] - (b.data[i * outF + o] + s * d))).toBeLessThan(1e-4);
        }
      }
      checked++;
    }
    expect(checked).toBe(4);
    await expect(merge(['--base', base, '--adapter', adapterDir, '-o', out])).rejects.toThrow(/already exists.*--force/);
    await merge(['--base', base, '--adapter', adapterDir, '-o', out, '--force']);
    log.mockRestore();
  });
});
