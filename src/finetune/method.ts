// Fine-tuning methods: which parameters train. `full` (everything), `top` (the top N blocks and the final
// LayerNorm; embeddings and lower blocks frozen, as --train-top N / --freeze-layers L-N) and `lora`
// (low-rank adapters on chosen linear layers, base frozen; Hu et al. 2021, PEFT's LoraConfig fields) and `zo`
// (zeroth-order SGD from two forward passes, MeZO / PocketLLM; all weights or only LoRA adapters).
import type { GPT2Config } from '../models/gpt2/config.js';
import type { LinearSite } from '../models/gpt2/model.js';
import { UserError } from '../util/errors.js';

/** The linear layers LoRA can adapt, by Hugging Face module name (PEFT's target_modules suffixes). */
export const LORA_SITES: readonly LinearSite[] = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj'];

export interface LoraConfig {
  /** Rank r of the update B·A. */
  r: number;
  /** Scale numerator: the update is (alpha / r)·B·A. */
  alpha: number;
  /** Dropout probability on the adapter's input (training only). */
  dropout: number;
  /** Adapted layers, a subset of LORA_SITES (kept in LORA_SITES order). */
  targets: LinearSite[];
}

/** TinyLLM's fine-tuning setting: r=64, α=256 on all four linear layers (dropout as alpaca-lora, 0.05). */
export const LORA_DEFAULTS: LoraConfig = { r: 64, alpha: 256, dropout: 0.05, targets: [...LORA_SITES] };

export type FinetuneMethod =
  | { kind: 'full' }
  /** Train the top `layers` blocks and ln_f; backpropagation stops at the lowest of them. */
  | { kind: 'top'; layers: number }
  | { kind: 'lora'; lora: LoraConfig }
  /** Zeroth-order SGD (src/finetune/zo.ts): no backpropagation; perturbs all weights or, with `lora`, only adapters. */
  | { kind: 'zo'; zo: ZoConfig };

export interface ZoConfig {
  /** Perturbation scale ε: the loss is measured at θ ± ε·z. */
  eps: number;
  /** Perturbations (gradient estimates, two forward passes each) averaged per step. */
  n: number;
  /** Perturb only these LoRA adapters (base frozen), or null for every weight. */
  lora: LoraConfig | null;
}

/** MeZO's setting (ε = 1e-3, one perturbation per step), all weights. */
export const ZO_DEFAULTS: ZoConfig = { eps: 1e-3, n: 1, lora: null };

/** The LoRA adapters a method trains (lora, or zo over adapters), else null. */
export function loraOf(m: FinetuneMethod): LoraConfig | null {
  return m.kind === 'lora' ? m.lora : m.kind === 'zo' ? m.zo.lora : null;
}

/** Aliases accepted for LoRA targets (CLI): short names, PEFT/HF module names; 'c_proj' means both projections. */
const TARGET_ALIASES: Record<string, LinearSite[]> = {
  qkv: ['attn.c_attn'],
  c_attn: ['attn.c_attn'],
  'attn.c_attn': ['attn.c_attn'],
  'attn-proj': ['attn.c_proj'],
  attn_proj: ['attn.c_proj'],
  'attn.c_proj': ['attn.c_proj'],
  fc: ['mlp.c_fc'],
  c_fc: ['mlp.c_fc'],
  'mlp.c_fc': ['mlp.c_fc'],
  'mlp-proj': ['mlp.c_proj'],
  mlp_proj: ['mlp.c_proj'],
  'mlp.c_proj': ['mlp.c_proj'],
  c_proj: ['attn.c_proj', 'mlp.c_proj'],
  all: [...LORA_SITES],
};

/** Parses a comma-separated target list, e.g. 'qkv,attn-proj,fc,mlp-proj', 'c_attn,c_proj' or 'all'. */
export function parseLoraTargets(spec: string, flag = '--lora-targets'): LinearSite[] {
  const out = new Set<LinearSite>();
  for (const raw of spec.split(',')) {
    const name = raw.trim();
    if (name === '') continue;
    const sites = TARGET_ALIASES[name];
    if (!sites) throw new UserError(`${flag}: unknown target '${name}'; choose from qkv, attn-proj, fc, mlp-proj (or c_attn, attn.c_proj, c_fc, mlp.c_proj, c_proj, all)`);
    for (const s of sites) out.add(s);
  }
  if (out.size === 0) throw new UserError(`${flag} is empty; give at least one of qkv, attn-proj, fc, mlp-proj`);
  return LORA_SITES.filter((s) => out.has(s));
}

/** Checks a method against a model; errors name the flag to change. */
export function validateMethod(m: FinetuneMethod, config: GPT2Config): void {
  if (m.kind === 'top') {
    if (!Number.isInteger(m.layers) || m.layers < 1 || m.layers > config.nLayer) {
      throw new UserError(`--train-top ${m.layers}: the model has ${config.nLayer} blocks; give 1..${config.nLayer} (or --freeze-layers 0..${config.nLayer - 1})`);
    }
  } else if (m.kind === 'zo') {
    const { eps, n } = m.zo;
    if (!(eps > 0 && eps < 1)) throw new UserError(`--zo-eps must be in (0, 1), got ${eps}`);
    if (!Number.isInteger(n) || n < 1) throw new UserError(`--zo-n must be a whole number ≥ 1, got ${n}`);
  }
  const lora = loraOf(m);
  if (lora) {
    const { r, alpha, dropout, targets } = lora;
    if (!Number.isInteger(r) || r < 1) throw new UserError(`--lora-r must be a whole number ≥ 1, got ${r}`);
    if (!(alpha > 0)) throw new UserError(`--lora-alpha must be > 0, got ${alpha}`);
    if (!(dropout >= 0 && dropout < 1)) throw new UserError(`--lora-dropout must be in [0, 1), got ${dropout}`);
    if (targets.length === 0 || targets.some((t) => !LORA_SITES.includes(t))) throw new UserError(`LoRA targets must be among ${LORA_SITES.join(', ')}, got ${targets.join(', ')}`);
  }
}

/** --freeze-layers N as a method: train the top nLayer − N blocks (N = 0 trains every block, not the embeddings). */
export function freezeLayers(n: number, config: GPT2Config): FinetuneMethod {
  if (!Number.isInteger(n) || n < 0 || n >= config.nLayer) throw new UserError(`--freeze-layers ${n}: the model has ${config.nLayer} blocks; give 0..${config.nLayer - 1}`);
  return { kind: 'top', layers: config.nLayer - n };
}

/** A one-line description, e.g. 'lora r=64 α=256 dropout=0.05 on attn.c_attn,mlp.c_fc'. */
export function describeMethod(m: FinetuneMethod): string {
  if (m.kind === 'full') return 'full';
  if (m.kind === 'top') return `top ${m.layers} blocks`;
  if (m.kind === 'zo') return `zo ε=${m.zo.eps} n=${m.zo.n} ${m.zo.lora ? `over ${describeLora(m.zo.lora)}` : 'on all weights'}`;
  return describeLora(m.lora);
}

function describeLora({ r, alpha, dropout, targets }: LoraConfig): string {
  return `lora r=${r} α=${alpha} dropout=${dropout} on ${targets.join(',')}`;
}
