// GPT-2 configuration: the five TinyLLM sizes (llm.c's naming: head size 64, heads = layers, context 1024,
// vocabulary 50257) plus custom sizes, and the parameter list in Hugging Face names. Shapes follow PyTorch's
// nn.Linear layout (out, in) as llm.c stores them; Hugging Face's Conv1D files hold (in, out) and are transposed on load.
import { quoteValue } from '../../util/errors.js';

/** LayerNorm epsilon (GPT-2's layer_norm_epsilon). */
export const LN_EPS = 1e-5;

export interface GPT2Config {
  /** Maximum sequence length (n_positions / n_ctx). */
  blockSize: number;
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
}

export const GPT2_PRESETS = {
  '30M': { nLayer: 6, nHead: 6, nEmbd: 384 },
  '51M': { nLayer: 8, nHead: 8, nEmbd: 512 },
  '82M': { nLayer: 10, nHead: 10, nEmbd: 640 },
  '101M': { nLayer: 11, nHead: 11, nEmbd: 704 },
  '124M': { nLayer: 12, nHead: 12, nEmbd: 768 },
} as const;

export type GPT2PresetName = keyof typeof GPT2_PRESETS;

export function presetConfig(name: GPT2PresetName, overrides: Partial<GPT2Config> = {}): GPT2Config {
  const p = GPT2_PRESETS[name];
  if (!p) throw new Error(`unknown GPT-2 preset '${name}' (choose one of ${Object.keys(GPT2_PRESETS).join(', ')})`);
  return { blockSize: 1024, vocabSize: 50257, ...p, ...overrides };
}

export function validateConfig(c: GPT2Config): void {
  for (const k of ['blockSize', 'vocabSize', 'nLayer', 'nHead', 'nEmbd'] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0) throw new Error(`GPT2Config.${k} must be a positive integer, got ${quoteValue(c[k])}`);
  }
  if (c.nEmbd % c.nHead !== 0) throw new Error(`GPT2Config: nEmbd (${c.nEmbd}) must be divisible by nHead (${c.nHead})`);
}

export interface ParamSpec {
  /** Hugging Face GPT-2 name, e.g. 'h.0.attn.c_attn.weight'. */
  name: string;
  /** PyTorch nn.Linear layout: (out, in) for weight matrices. */
  shape: number[];
}

/**
 * Every parameter in llm.c's order (wte, wpe, then each kind for all layers: ln_1, c_attn, attn.c_proj, ln_2,
 * c_fc, mlp.c_proj, then ln_f). The LM head is tied to wte and has no entry.
 */
export function paramSpecs(c: GPT2Config): ParamSpec[] {
  const { vocabSize: V, blockSize: maxT, nLayer: L, nEmbd: C } = c;
  const perLayer: [string, number[]][] = [
    ['ln_1.weight', [C]],
    ['ln_1.bias', [C]],
    ['attn.c_attn.weight', [3 * C, C]],
    ['attn.c_attn.bias', [3 * C]],
    ['attn.c_proj.weight', [C, C]],
    ['attn.c_proj.bias', [C]],
    ['ln_2.weight', [C]],
    ['ln_2.bias', [C]],
    ['mlp.c_fc.weight', [4 * C, C]],
    ['mlp.c_fc.bias', [4 * C]],
    ['mlp.c_proj.weight', [C, 4 * C]],
    ['mlp.c_proj.bias', [C]],
  ];
  const specs: ParamSpec[] = [
    { name: 'wte.weight', shape: [V, C] },
    { name: 'wpe.weight', shape: [maxT, C] },
  ];
  for (const [suffix, shape] of perLayer) {
    for (let l = 0; l < L; l++) specs.push({ name: `h.${l}.${suffix}`, shape });
  }
  specs.push({ name: 'ln_f.weight', shape: [C] }, { name: 'ln_f.bias', shape: [C] });
  return specs;
}

/** Parameters of one block (ln_1, c_attn, attn.c_proj, ln_2, c_fc, mlp.c_proj): 12C² + 13C. */
export const blockParams = (C: number): number => 12 * C * C + 13 * C;

/** Parameter count in closed form (O(1), so a corrupt header's nLayer = 2^31 costs nothing). */
export function numParams(c: GPT2Config): number {
  const C = c.nEmbd;
  return (c.vocabSize + c.blockSize) * C + c.nLayer * blockParams(C) + 2 * C;
}

/** How many tensors paramSpecs(c) lists (12 per block, wte, wpe, ln_f), without listing them. */
export const numTensors = (c: GPT2Config): number => 12 * c.nLayer + 4;
