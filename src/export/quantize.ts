// Weight quantization for deployment: symmetric int8 with one f32 scale per row (group 0) or per group of
// 32/64 consecutive values along a row (as llama.cpp's Q8_0 blocks of 32), and f16. Symmetric: q = round(w/s),
// s = max|w|/127 over the row or group, q in [-127, 127] (never -128, so int8·int16 dot products cannot overflow).
// Error bound: |w - s·q| ≤ s/2 = max|w_group|/254 per value (plus f32 rounding of s·q).

/** Values per scale along a row: 0 = one scale per row, else 32 or 64. */
export type Int8Group = 0 | 32 | 64;
export const INT8_GROUPS: readonly Int8Group[] = [0, 32, 64];

export interface Int8Tensor {
  /** (rows, cols) row-major int8 values in [-127, 127]. */
  q: Int8Array;
  /** (rows, groupsPerRow) f32 scales. */
  scales: Float32Array;
  rows: number;
  cols: number;
  group: Int8Group;
}

/** Scales per row: ceil(cols / group), or 1 for per-row scales. */
export function groupsPerRow(cols: number, group: Int8Group): number {
  return group === 0 ? 1 : Math.ceil(cols / group);
}

/** Quantizes w (rows, cols) to symmetric int8 (into `into` arrays when given, e.g. views of an output file). */
export function quantizeInt8(
  w: Float32Array,
  rows: number,
  cols: number,
  group: Int8Group,
  into?: { q: Int8Array; scales: Float32Array },
): Int8Tensor {
  if (w.length !== rows * cols) throw new RangeError(`quantizeInt8: ${w.length} values for a (${rows}, ${cols}) tensor`);
  const per = groupsPerRow(cols, group);
  const len = group === 0 ? cols : group;
  const q = into?.q ?? new Int8Array(rows * cols);
  const scales = into?.scales ?? new Float32Array(rows * per);
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < per; g++) {
      const start = r * cols + g * len;
      const end = r * cols + Math.min(cols, (g + 1) * len);
      let max = 0;
      for (let i = start; i < end; i++) {
        const a = Math.abs(w[i]);
        if (!(a <= max)) {
          if (!(a < Infinity)) throw new RangeError(`quantizeInt8: value ${w[i]} at row ${r}, column ${i - r * cols} is not finite`);
          max = a;
        }
      }
      const s = Math.fround(max / 127);
      scales[r * per + g] = s;
      const inv = s === 0 ? 0 : 1 / s;
      for (let i = start; i < end; i++) q[i] = Math.max(-127, Math.min(127, Math.round(w[i] * inv)));
    }
  }
  return { q, scales, rows, cols, group };
}

/** The f32 values an Int8Tensor stands for (tests and the quantization-cost report). */
export function dequantizeInt8(t: Int8Tensor, out: Float32Array = new Float32Array(t.rows * t.cols)): Float32Array {
  const per = groupsPerRow(t.cols, t.group);
  const len = t.group === 0 ? t.cols : t.group;
  for (let r = 0; r < t.rows; r++) {
    for (let c = 0; c < t.cols; c++) out[r * t.cols + c] = t.q[r * t.cols + c] * t.scales[r * per + Math.floor(c / len)];
  }
  return out;
}
