// LoRA adapters in the Hugging Face PEFT layout (peft PeftModel.save_pretrained): a directory with
// adapter_model.safetensors (metadata {format: pt}; tensors 'base_model.model.transformer.h.<l>.<module>.lora_A.weight'
// (r, in) and '…lora_B.weight' (out, r), where GPT-2's Conv1D modules give in/out from their (in, out) weight) and
// adapter_config.json (LoraConfig.to_dict, keys sorted, indent 2; fan_in_fan_out true as PEFT forces for Conv1D).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { GPT2Config } from '../models/gpt2/config.js';
import type { LinearSite } from '../models/gpt2/model.js';
import { plainF32, type Allocator } from '../models/gpt2/params.js';
import { SafetensorsReader, writeSafetensors } from '../export/safetensors.js';
import { quoteValue, UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { LoraAdapters } from './lora.js';
import { LORA_SITES, type LoraConfig } from './method.js';

export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
export const PEFT_CONFIG_FILE = 'adapter_config.json';
/** PeftModelForCausalLM → LoraModel (base_model) → GPT2LMHeadModel (model) → GPT2Model (transformer). */
const PREFIX = 'base_model.model.transformer.';

/** The PEFT tensor name of an adapter tensor named 'h.<l>.<site>.lora_A|B' in LoraAdapters. */
export function peftTensorName(name: string): string {
  return `${PREFIX}${name}.weight`;
}

export interface SavePeftOptions {
  /** base_model_name_or_path in adapter_config.json (e.g. the --from path), default null. */
  baseModel?: string | null;
}

/** adapter_config.json as PEFT's LoraConfig writes it for a CAUSAL_LM GPT-2 adapter (the fields tinyllm uses; PEFT fills the rest with defaults). */
export function peftConfigJson(lora: LoraConfig, opts: SavePeftOptions = {}): Record<string, unknown> {
  const c: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: opts.baseModel ?? null,
    bias: 'none',
    fan_in_fan_out: true,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    modules_to_save: null,
    peft_type: 'LORA',
    r: lora.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...lora.targets],
    task_type: 'CAUSAL_LM',
    use_dora: false,
    use_rslora: false,
  };
  return Object.fromEntries(Object.keys(c).sort().map((k) => [k, c[k]]));
}

/** Writes <dir>/adapter_model.safetensors and <dir>/adapter_config.json, each atomically. */
export function savePeftAdapter(dir: string, lora: LoraAdapters, opts: SavePeftOptions = {}): void {
  if (fs.statSync(dir, { throwIfNoEntry: false })?.isFile()) throw new UserError(`${dir}: is a file; a PEFT adapter is a directory (choose another output path)`);
  writeSafetensors(
    path.join(dir, PEFT_WEIGHTS_FILE),
    lora.table.map((e) => ({ name: peftTensorName(e.name), shape: e.shape, data: Float32Array.from(lora.get(e.name)) })),
    { format: 'pt' },
  );
  writeFileAtomic(path.join(dir, PEFT_CONFIG_FILE), JSON.stringify(peftConfigJson(lora.config, opts), null, 2));
}

function readConfig(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)}); a PEFT adapter directory holds ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE}`);
  }
  try {
    const j = JSON.parse(text) as unknown;
    if (typeof j !== 'object' || j === null || Array.isArray(j)) throw new Error('not an object');
    return j as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${file}: not a JSON object (${(e as Error).message})`);
  }
}

/**
 * Reads a PEFT LoRA adapter for a GPT-2 of `model`'s size. The adapted modules and r come from the tensors
 * (every block must carry the same ones), alpha and dropout from adapter_config.json; variants tinyllm does not
 * compute (DoRA, rsLoRA, trained biases, rank/alpha patterns) are refused with the field that says so.
 */
export function loadPeftAdapter(dir: string, model: GPT2Config, alloc: Allocator = plainF32): LoraAdapters {
  const cfgFile = path.join(dir, PEFT_CONFIG_FILE);
  const c = readConfig(cfgFile);
  const bad = (field: string, why: string): never => {
    throw new UserError(`${cfgFile}: field "${field}" ${why}`);
  };
  if (c.peft_type !== 'LORA') bad('peft_type', `is ${JSON.stringify(c.peft_type)}; only LORA adapters can be loaded`);
  if (c.use_dora === true) bad('use_dora', 'is true; DoRA adapters are not supported');
  if (c.use_rslora === true) bad('use_rslora', 'is true; rank-stabilised LoRA (alpha/√r) is not supported');
  if (c.bias !== undefined && c.bias !== 'none') bad('bias', `is ${JSON.stringify(c.bias)}; only "none" is supported`);
  for (const f of ['rank_pattern', 'alpha_pattern'] as const) {
    if (c[f] && typeof c[f] === 'object' && Object.keys(c[f] as object).length > 0) bad(f, 'is not empty; per-module ranks/alphas are not supported');
  }
  if (typeof c.lora_alpha !== 'number' || !(c.lora_alpha > 0)) bad('lora_alpha', `must be a positive number, got ${JSON.stringify(c.lora_alpha)}`);
  const dropout = c.lora_dropout === undefined ? 0 : c.lora_dropout;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('lora_dropout', `must be in [0, 1), got ${JSON.stringify(dropout)}`);

  const file = path.join(dir, PEFT_WEIGHTS_FILE);
  if (!fs.existsSync(file)) throw new UserError(`${file}: missing; a PEFT adapter directory holds ${PEFT_CONFIG_FILE} and ${PEFT_WEIGHTS_FILE} (adapter_model.bin pickles cannot be read safely)`);
  const reader = new SafetensorsReader(file);
  try {
    // our name -> stored name (PEFT's optional adapter name '.default' allowed)
    const found = new Map<string, string>();
    const sites = new Set<LinearSite>();
    let r = 0;
    const re = /^base_model\.model\.transformer\.h\.(\d+)\.(attn\.c_attn|attn\.c_proj|mlp\.c_fc|mlp\.c_proj)\.lora_([AB])(?:\.default)?\.weight$/;
    for (const e of reader.header.entries) {
      const m = re.exec(e.name);
      if (!m) throw new UserError(`${file}: unexpected tensor ${quoteValue(e.name)}; tinyllm reads LoRA adapters of GPT-2's c_attn, attn.c_proj, c_fc and mlp.c_proj (names like ${PREFIX}h.0.attn.c_attn.lora_A.weight)`);
      if (Number(m[1]) >= model.nLayer) throw new UserError(`${file}: tensor '${e.name}' is for block ${m[1]}, the base model has ${model.nLayer} blocks; use the base model the adapter was trained on`);
      sites.add(m[2] as LinearSite);
      if (m[3] === 'A') r = e.shape[0];
      found.set(`h.${m[1]}.${m[2]}.lora_${m[3]}`, e.name);
    }
    if (found.size === 0) throw new UserError(`${file}: holds no LoRA tensors`);
    if (typeof c.r === 'number' && c.r !== r) bad('r', `is ${c.r} but lora_A tensors have ${r} rows`);
    const config: LoraConfig = { r, alpha: c.lora_alpha as number, dropout: dropout as number, targets: LORA_SITES.filter((s) => sites.has(s)) };
    const lora = new LoraAdapters(model, config, alloc, null);
    for (const e of lora.table) {
      const stored = found.get(e.name);
      if (!stored) throw new UserError(`${file}: tensor '${peftTensorName(e.name)}' is missing (every block needs the same adapted modules)`);
      const entry = reader.get(stored);
      const shape = entry?.shape ?? [];
      if (shape.length !== 2 || shape[0] !== e.shape[0] || shape[1] !== e.shape[1]) {
        throw new UserError(`${file}: tensor '${stored}' has shape [${shape}], expected [${e.shape}] for a GPT-2 with n_embd=${model.nEmbd} and r=${r}; use the base model the adapter was trained on`);
      }
      lora.get(e.name).set(reader.readFloat32(stored));
    }
    return lora;
  } finally {
    reader.close();
  }
}
