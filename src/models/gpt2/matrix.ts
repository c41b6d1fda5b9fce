// Weight matrices as GPT-2 code multiplies them: f32, or int8 with one f32 scale per block of values along a row
// (the .tllm runtime's form, used where it lies). Shared by the runtime's decoder and the training model's frozen
// int8 base (LoRA over int8): out = inp·Wᵀ through the tier's int8 matmul (kernels/int8.ts), dinp = dout·W through
// its backward (kernels/int8-backward.ts), and embedding rows read from either form.
import { int8BackwardFor, type MatmulInt8T } from '../../kernels/int8-backward.js';
import { int8MatmulFor, type MatmulInt8 } from '../../kernels/int8.js';
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { perObject } from '../../util/memo.js';

/** An int8 matrix (rows, cols) with f32 scales (rows, ceil(cols/block)). */
export interface Int8Matrix {
  kind: 'int8';
  q: Int8Array;
  scales: Float32Array;
  /** Values per scale along a row (a multiple of 16, ≤ INT8_MAX_BLOCK, for the wasm kernel). */
  block: number;
}

/** A weight matrix (rows = outputs, cols = inputs, nn.Linear layout). */
export type Matrix = { kind: 'f32'; w: FloatArray } | Int8Matrix;

interface MatrixKernels {
  int8: MatmulInt8;
  int8T: MatmulInt8T;
}

const opsOf = perObject((k: Kernels): MatrixKernels => ({ int8: int8MatmulFor(k), int8T: int8BackwardFor(k) }));

/** out(n,OC) = inp(n,IC)·Wᵀ (+ bias(OC) on every row when given: the int8 kernels add it themselves). */
export function matmulW(k: Kernels, out: FloatArray, inp: FloatArray, w: Matrix, n: number, IC: number, OC: number, bias?: FloatArray): void {
  if (w.kind === 'f32') {
    k.matmul(out, inp, w.w, n, IC, OC, false, true, false);
    if (bias) k.addBias(out, bias, n, OC);
  }
  // the int8 kernels take float32 views; the 'ref' oracle (float64 gradient checks) reads any float array
  else opsOf(k).int8(out as Float32Array, inp as Float32Array, w.q, w.scales, n, IC, OC, w.block, bias as Float32Array | undefined);
}

/** dinp(n,IC) = dout(n,OC)·W, or += when accumulate (the input gradient of matmulW). */
export function matmulWBackward(k: Kernels, dinp: FloatArray, dout: FloatArray, w: Matrix, n: number, IC: number, OC: number, accumulate = false): void {
  if (w.kind === 'f32') k.matmul(dinp, dout, w.w, n, OC, IC, false, false, accumulate);
  else opsOf(k).int8T(dinp, dout, w.q, w.scales, n, OC, IC, w.block, accumulate);
}

/** out[j,:] = wte[ids[j],:] + wpe[pos + j,:] for j < n (token + position embedding), wte f32 or int8. */
export function embedRows(out: FloatArray, ids: ArrayLike<number>, n: number, wte: Matrix, wpe: FloatArray, pos: number, C: number): void {
  for (let j = 0; j < n; j++) {
    const row = ids[j] * C;
    const p = (pos + j) * C;
    if (wte.kind === 'f32') {
      for (let i = 0; i < C; i++) out[j * C + i] = wte.w[row + i] + wpe[p + i];
    } else {
      const sc = ids[j] * Math.ceil(C / wte.block);
      for (let i = 0; i < C; i++) out[j * C + i] = wte.q[row + i] * wte.scales[sc + Math.floor(i / wte.block)] + wpe[p + i];
    }
  }
}
