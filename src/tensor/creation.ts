// Creating tensors: from (nested) arrays, zeros/ones/full, arange, and seeded random normal/uniform.
// Random creators take an Rng (src/util/rng.ts) or fall back to one process-wide generator that
// manualSeed() resets, as torch.manual_seed does, so every run is reproducible.
import { Rng } from '../util/rng.js';
import type { FloatArray } from '../kernels/types.js';
import { Tensor, newArray, type DType } from './tensor.js';
import { checkShape, numel, shapeStr, ShapeError, type Shape } from './shape.js';

export interface CreateOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}
export interface RandomOptions extends CreateOptions {
  rng?: Rng;
}

let globalRng = new Rng(1337);

/** Reset the process-wide generator used when no rng is passed. */
export function manualSeed(seed: number): void {
  globalRng = new Rng(seed);
}
export function defaultRng(): Rng {
  return globalRng;
}

type Nested = number | readonly Nested[];

function finish(data: FloatArray, shape: Shape, opts: CreateOptions): Tensor {
  const t = new Tensor(data, shape);
  if (opts.requiresGrad) t.requireGrad();
  return t;
}

/** A tensor from a number, a (nested) array or a typed array; `shape` reshapes flat data. Copies the data. */
export function tensor(data: Nested | FloatArray, opts: CreateOptions & { shape?: Shape } = {}): Tensor {
  const shape: number[] = [];
  let flat: ArrayLike<number>;
  if (ArrayBuffer.isView(data)) {
    shape.push(data.length);
    flat = data; // copied by arr.set below (a spread would overflow the stack on large arrays)
  } else {
    const values: number[] = [];
    for (let d: Nested = data; Array.isArray(d); d = (d as readonly Nested[])[0]) shape.push((d as readonly Nested[]).length);
    const walk = (d: Nested, depth: number): void => {
      if (typeof d === 'number') {
        if (depth !== shape.length) throw new ShapeError(`tensor: ragged nested array (expected shape ${shapeStr(shape)})`);
        values.push(d);
        return;
      }
      if (d.length !== shape[depth]) throw new ShapeError(`tensor: ragged nested array at depth ${depth} (expected shape ${shapeStr(shape)})`);
      for (const e of d) walk(e, depth + 1);
    };
    walk(data as Nested, 0);
    flat = values;
  }
  const dtype = opts.dtype ?? (data instanceof Float64Array ? 'float64' : 'float32');
  const target = opts.shape ?? shape;
  checkShape('tensor', target);
  if (numel(target) !== flat.length) throw new ShapeError(`tensor: ${flat.length} values do not fill shape ${shapeStr(target)}`);
  const arr = newArray(dtype, flat.length);
  arr.set(flat);
  return finish(arr, target, opts);
}

export function full(shape: Shape, value: number, opts: CreateOptions = {}): Tensor {
  checkShape('full', shape);
  return finish(newArray(opts.dtype ?? 'float32', numel(shape)).fill(value), shape, opts);
}

export function zeros(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 0, opts);
}

export function ones(shape: Shape, opts: CreateOptions = {}): Tensor {
  return full(shape, 1, opts);
}

/** start, start+step, … below end (1-D). arange(n) is 0..n-1. */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [lo, hi] = end === undefined ? [0, start] : [start, end];
  if (step === 0) throw new RangeError('arange: step must not be 0');
  const n = Math.max(0, Math.ceil((hi - lo) / step));
  const arr = newArray(opts.dtype ?? 'float32', n);
  for (let i = 0; i < n; i++) arr[i] = lo + i * step;
  return finish(arr, [n], opts);
}

/** Normal samples (mean 0, std 1 unless given). */
export function randn(shape: Shape, opts: RandomOptions & { mean?: number; std?: number } = {}): Tensor {
  checkShape('randn', shape);
  const rng = opts.rng ?? globalRng;
  const arr = newArray(opts.dtype ?? 'float32', numel(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = rng.normal(opts.mean ?? 0, opts.std ?? 1);
  return finish(arr, shape, opts);
}

/** Uniform samples in [low, high) (default [0, 1)). */
export function rand(shape: Shape, opts: RandomOptions & { low?: number; high?: number } = {}): Tensor {
  checkShape('rand', shape);
  const rng = opts.rng ?? globalRng;
  const { low = 0, high = 1 } = opts;
  const arr = newArray(opts.dtype ?? 'float32', numel(shape));
  for (let i = 0; i < arr.length; i++) arr[i] = low + (high - low) * rng.random();
  return finish(arr, shape, opts);
}
