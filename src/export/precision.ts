// Per-block precision for deployment (Edge-LLM, Yu et al. 2024: layer-wise sensitivity decides each layer's
// compression): the sensitivity of block l is the rise of the validation loss when ONLY block l's four linear
// weights are int8 (everything else f32), measured with the training model over a frozen mixed base; `choosePrecision`
// keeps the most sensitive blocks f32 until the predicted perplexity rise (Σ of the int8 blocks' Δ loss) fits a bound.
import type { GPT2Config } from '../models/gpt2/config.js';
import type { Matrix } from '../models/gpt2/matrix.js';
import { GPT2, type LinearMatrices } from '../models/gpt2/model.js';
import { blockScales } from '../runtime/model.js';
import { sharedArena } from '../tensor/arena.js';
import { UserError } from '../util/errors.js';
import { quantizeInt8, type Int8Group } from './quantize.js';

export interface Sensitivity {
  /** Mean validation loss (nats per token) of the f32 model. */
  base: number;
  /** Per block: loss with only that block int8, minus base. */
  delta: number[];
  /** Tokens scored. */
  tokens: number;
}

/** w quantized as an export stores it, in the int8 kernels' form (as the runtime loads it). */
function int8Matrix(w: Float32Array, rows: number, cols: number, group: Int8Group): Matrix {
  const t = quantizeInt8(w, rows, cols, group);
  return { kind: 'int8', q: t.q, ...blockScales(t.scales, rows, cols, group, (n) => new Float32Array(n)) };
}

/**
 * Mean next-token loss of `tokens` in windows of `window` tokens under a model whose block l matrices are
 * int8 when int8Blocks has l (the f32 values from `model`), through one probe model built over a frozen base.
 */
export function mixedLoss(model: GPT2, tokens: ArrayLike<number>, window: number, int8Blocks: ReadonlySet<number>, group: Int8Group): number {
  const { nEmbd: C } = model.config;
  const p = model.params;
  const f32 = (name: string): Matrix => ({ kind: 'f32', w: p.get(name) });
  const mat = (l: number, name: string, rows: number, cols: number): Matrix =>
    int8Blocks.has(l) ? int8Matrix(p.get(`h.${l}.${name}.weight`) as Float32Array, rows, cols, group) : f32(`h.${l}.${name}.weight`);
  const h: LinearMatrices[] = Array.from({ length: model.config.nLayer }, (_, l) => ({
    qkvw: mat(l, 'attn.c_attn', 3 * C, C),
    attprojw: mat(l, 'attn.c_proj', C, C),
    fcw: mat(l, 'mlp.c_fc', 4 * C, C),
    fcprojw: mat(l, 'mlp.c_proj', C, 4 * C),
  }));
  const arena = sharedArena();
  const mark = arena.mark();
  try {
    const probe = new GPT2(model.config, { seed: null, kernels: model.kernels, frozen: { wte: f32('wte.weight'), h } });
    for (const e of probe.params.table) probe.params.get(e.name).set(p.get(e.name));
    probe.recompute = true; // forward only: keep block outputs alone
    return windowLoss(probe, tokens, window);
  } finally {
    arena.release(mark);
  }
}

/** Mean next-token cross-entropy of `tokens` cut into windows of at most `window` + 1 tokens (each window's first token is context). */
export function windowLoss(model: GPT2, tokens: ArrayLike<number>, window: number): number {
  const T = Math.min(window, model.config.blockSize);
  let sum = 0;
  let n = 0;
  for (let i = 0; i + 1 < tokens.length; i += T) {
    const len = Math.min(T, tokens.length - 1 - i);
    const inputs = Int32Array.from({ length: len }, (_, j) => tokens[i + j]);
    const targets = Int32Array.from({ length: len }, (_, j) => tokens[i + j + 1]);
    sum += model.forward(inputs, targets, 1, len) * len;
    n += len;
  }
  return sum / n;
}

/** Per-block sensitivity of `model` on `tokens` (L + 1 loss passes), with a callback after each. */
export function blockSensitivity(model: GPT2, tokens: ArrayLike<number>, window: number, group: Int8Group, onBlock?: (done: number, total: number) => void): Sensitivity {
  const L = model.config.nLayer;
  const base = mixedLoss(model, tokens, window, new Set(), group);
  onBlock?.(0, L);
  const delta = Array.from({ length: L }, (_, l) => {
    const d = mixedLoss(model, tokens, window, new Set([l]), group) - base;
    onBlock?.(l + 1, L);
    return d;
  });
  return { base, delta, tokens: tokens.length };
}

/**
 * The blocks to keep f32 so that the predicted perplexity rise, 100·(exp(Σ_int8 Δ) − 1) %, is at most `maxIncrease`
 * percent: blocks join int8 from the least sensitive up while the prediction fits. Returns them in block order.
 */
export function choosePrecision(s: Sensitivity, maxIncrease: number): { keepF32: number[]; predicted: number } {
  const order = s.delta.map((d, l) => ({ d, l })).sort((a, b) => a.d - b.d || a.l - b.l);
  let sum = 0;
  const int8 = new Set<number>();
  for (const { d, l } of order) {
    if (100 * Math.expm1(sum + d) > maxIncrease) break;
    sum += d;
    int8.add(l);
  }
  const keepF32 = s.delta.map((_, l) => l).filter((l) => !int8.has(l));
  return { keepF32, predicted: 100 * Math.expm1(sum) };
}

/** Parses --keep-f32 '0,11' (block indices) for a model of `config`. */
export function parseBlockList(spec: string, config: GPT2Config, flag = '--keep-f32'): number[] {
  const out = new Set<number>();
  for (const raw of spec.split(',')) {
    const s = raw.trim();
    if (s === '') continue;
    const l = Number(s);
    if (!Number.isInteger(l) || l < 0 || l >= config.nLayer) throw new UserError(`${flag}: '${s}' is not a block of this model; give block numbers 0..${config.nLayer - 1}, comma-separated`);
    out.add(l);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * What --precision auto does when the measured perplexity rise of an export is above the bound (the blocks'
 * sensitivities add up unevenly, and the embedding's int8 cost is not among them): the most sensitive block still
 * int8 stays f32 too, and the file is exported and measured again. `spare` holds the int8 blocks, most sensitive
 * first; returns the new keep-f32 list (sorted) and the block added, or null when no int8 block is left.
 */
export function keepOneMore(keepF32: readonly number[], spare: readonly number[]): { keepF32: number[]; block: number } | null {
  const block = spare.find((l) => !keepF32.includes(l));
  return block === undefined ? null : { keepF32: [...keepF32, block].sort((a, b) => a - b), block };
}

/** The blocks choosePrecision left int8, most sensitive first (the order keepOneMore takes them back to f32). */
export function int8BySensitivity(s: Sensitivity, keepF32: readonly number[]): number[] {
  return s.delta.map((d, l) => ({ d, l })).filter(({ l }) => !keepF32.includes(l)).sort((a, b) => b.d - a.d || a.l - b.l).map(({ l }) => l);
}
