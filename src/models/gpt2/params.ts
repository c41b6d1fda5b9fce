// GPT-2 parameter storage: ONE flat buffer holding every tensor back to back in llm.c's order, with a
// named view per tensor (Hugging Face names, from paramSpecs) and a typed per-layer struct the model code
// reads. Gradients and AdamW moments use the same layout, as llm.c's params_memory / grads_memory.
import type { FloatArray } from '../../kernels/types.js';
import { sharedArena } from '../../tensor/arena.js';
import { paramSpecs, type GPT2Config, type ParamSpec } from './config.js';

/** Makes a zero-filled float buffer of n elements (arena f32 by default; Float64Array for gradient checks). */
export type Allocator = (n: number) => FloatArray;

export const arenaF32: Allocator = (n) => sharedArena().f32(n);
export const plainF32: Allocator = (n) => new Float32Array(n);
export const plainF64: Allocator = (n) => new Float64Array(n);

export interface TensorEntry extends ParamSpec {
  /** Element offset into the flat buffer. */
  offset: number;
  /** Number of elements. */
  size: number;
}

/** One transformer block's tensors (names as in nanoGPT / Hugging Face); M is how a matrix is held, V a vector. */
export interface Block<M, V> {
  ln1w: V; // (C)
  ln1b: V; // (C)
  qkvw: M; // (3C, C)  attn.c_attn.weight
  qkvb: V; // (3C)
  attprojw: M; // (C, C)  attn.c_proj.weight
  attprojb: V; // (C)
  ln2w: V; // (C)
  ln2b: V; // (C)
  fcw: M; // (4C, C)  mlp.c_fc.weight
  fcb: V; // (4C)
  fcprojw: M; // (C, 4C)  mlp.c_proj.weight
  fcprojb: V; // (C)
}

export type BlockTensors = Block<FloatArray, FloatArray>;

/** Block l's tensors, fetched by Hugging Face name through `mat` (matrices) and `vec` (vectors). */
export function blockOf<M, V>(l: number, mat: (name: string) => M, vec: (name: string) => V): Block<M, V> {
  const p = `h.${l}.`;
  return {
    ln1w: vec(`${p}ln_1.weight`),
    ln1b: vec(`${p}ln_1.bias`),
    qkvw: mat(`${p}attn.c_attn.weight`),
    qkvb: vec(`${p}attn.c_attn.bias`),
    attprojw: mat(`${p}attn.c_proj.weight`),
    attprojb: vec(`${p}attn.c_proj.bias`),
    ln2w: vec(`${p}ln_2.weight`),
    ln2b: vec(`${p}ln_2.bias`),
    fcw: mat(`${p}mlp.c_fc.weight`),
    fcb: vec(`${p}mlp.c_fc.bias`),
    fcprojw: mat(`${p}mlp.c_proj.weight`),
    fcprojb: vec(`${p}mlp.c_proj.bias`),
  };
}

export interface GPT2Tensors {
  wte: FloatArray; // (V, C)  token embedding, also the LM head
  wpe: FloatArray; // (maxT, C)  position embedding
  h: BlockTensors[];
  lnfw: FloatArray; // (C)
  lnfb: FloatArray; // (C)
}

/** Tensor table (names, shapes, offsets) of a config, in llm.c order (without the `omit` ones). */
export function tensorTable(config: GPT2Config, omit?: ReadonlySet<string>): TensorEntry[] {
  let offset = 0;
  return paramSpecs(config).filter((s) => !omit?.has(s.name)).map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const e = { ...s, offset, size };
    offset += size;
    return e;
  });
}

/** A flat buffer of all parameters (or their gradients / optimizer moments) with named views. */
export class ParamBuffer {
  readonly table: TensorEntry[];
  readonly data: FloatArray;
  readonly tensors: GPT2Tensors;
  private readonly byName: Map<string, FloatArray>;

  /** `omit`: tensors held elsewhere (a frozen base): absent from the buffer and the table, their views empty. */
  constructor(
    readonly config: GPT2Config,
    alloc: Allocator = arenaF32,
    omit?: ReadonlySet<string>,
  ) {
    this.table = tensorTable(config, omit);
    const last = this.table[this.table.length - 1];
    this.data = alloc(last.offset + last.size);
    this.byName = new Map(this.table.map((e) => [e.name, this.data.subarray(e.offset, e.offset + e.size)]));
    const none = this.data.subarray(0, 0);
    const v = (name: string) => this.byName.get(name) ?? none;
    const h = Array.from({ length: config.nLayer }, (_, l) => blockOf(l, v, v));
    this.tensors = { wte: v('wte.weight'), wpe: v('wpe.weight'), h, lnfw: v('ln_f.weight'), lnfb: v('ln_f.bias') };
  }

  get size(): number {
    return this.data.length;
  }

  /** The view of one tensor by its Hugging Face name, e.g. 'h.0.attn.c_attn.weight'. */
  get(name: string): FloatArray {
    const t = this.byName.get(name);
    if (!t) throw new Error(`no GPT-2 parameter named '${name}' (names look like 'h.0.attn.c_attn.weight')`);
    return t;
  }

  names(): string[] {
    return this.table.map((e) => e.name);
  }
}
