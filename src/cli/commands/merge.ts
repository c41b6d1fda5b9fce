// `tinyllm merge --base <weights> --adapter <dir> -o <out>`: fold a PEFT LoRA adapter (adapter_config.json +
// adapter_model.safetensors, as `tinyllm finetune --method lora` or PEFT writes them) into base GPT-2 weights
// (any format loadWeights reads) and write a Hugging Face directory; refuses to replace an existing output without --force.
import * as fs from 'node:fs';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { loadWeights } from '../../export/load.js';
import { saveHFGPT2 } from '../../export/hf-gpt2.js';
import type { WeightDtype } from '../../export/binary.js';
import { loadPeftAdapter } from '../../finetune/peft.js';
import { mergeLora } from '../../finetune/merge.js';
import { describeMethod } from '../../finetune/method.js';

export const summary = 'merge a LoRA adapter (PEFT layout) into base GPT-2 weights, writing Hugging Face safetensors';

const options = {
  base: { type: 'string', help: 'base weights: a Hugging Face GPT-2 directory/.safetensors, an llm.c .bin, or a tinyllm run/checkpoint' },
  adapter: { type: 'string', help: 'adapter directory holding adapter_config.json and adapter_model.safetensors' },
  out: { type: 'string', short: 'o', help: 'output directory (config.json + model.safetensors)' },
  dtype: { type: 'string', help: 'stored weight type: f32, f16 or bf16', default: 'f32' },
  force: { type: 'boolean', help: 'replace the output files if they exist' },
} satisfies OptionSpecs;

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('merge', argv, options, { usage: '--base <weights> --adapter <dir> -o <out> [--dtype f32|f16|bf16] [--force]', summary });
  if (!parsed) return;
  const o = parsed.options;
  if (parsed.positionals.length > 0) throw new UserError(`unexpected argument '${parsed.positionals[0]}'; give --base, --adapter and -o`);
  if (!o.base || !o.adapter || !o.out) throw new UserError('--base, --adapter and -o/--out are all required (see tinyllm merge --help)');
  if (!['f32', 'f16', 'bf16'].includes(o.dtype)) throw new UserError(`option --dtype must be f32, f16 or bf16, got '${o.dtype}'`);
  const st = fs.statSync(o.out, { throwIfNoEntry: false });
  if (st && !o.force && (st.isFile() || fs.readdirSync(o.out).length > 0)) {
    throw new UserError(`${o.out} already exists; choose another -o, or add --force to replace its config.json and model.safetensors`);
  }
  const t0 = performance.now();
  const w = loadWeights(o.base);
  const lora = loadPeftAdapter(o.adapter, w.config);
  mergeLora((name) => {
    const t = w.params.get(name);
    if (!t) throw new Error(`merge: base has no tensor '${name}'`);
    return t;
  }, lora);
  saveHFGPT2(o.out, w.config, w.params, { dtype: o.dtype as WeightDtype });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`merged ${o.adapter} (${describeMethod({ kind: 'lora', lora: lora.config })}, ${lora.size.toLocaleString('en-US')} adapter weights) into ${o.base}`);
  console.log(`wrote ${o.out} (Hugging Face directory, ${o.dtype}) in ${secs}s`);
}
