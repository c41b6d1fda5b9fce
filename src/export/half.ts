// IEEE 754 binary16 (f16) and bfloat16 (bf16) <-> float32 conversion on bit patterns, as file formats
// store them (safetensors F16/BF16, llm.c version-5 checkpoints). Decoding is exact (subnormals, ±inf,
// NaN stays NaN; payloads are not promised, JS numbers may quiet them); encoding rounds to nearest, ties
// to even, overflowing to ±inf like the hardware does.

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f16 bit pattern -> float32 value (exact). */
export function f16BitsToF32(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) {
    u32[0] = sign | 0x7f800000 | (mant << 13); // inf / NaN
    return f32[0];
  }
  if (exp === 0) return (sign ? -mant : mant) * 2 ** -24; // zero and subnormals: mant · 2^-24, exact in f32
  u32[0] = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  return f32[0];
}

/** float32 value -> f16 bit pattern, round to nearest even (a float64 argument is first rounded to float32).
 * NaN stays a (quiet) NaN. */
export function f32ToF16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0];
  const sign = (bits >>> 16) & 0x8000;
  const abs = bits & 0x7fffffff;
  if (abs >= 0x7f800000) return abs > 0x7f800000 ? sign | 0x7e00 | ((abs >>> 13) & 0x3ff) : sign | 0x7c00;
  if (abs >= 0x47800000) return sign | 0x7c00; // >= 2^16: beyond every f16, rounds to inf
  if (abs < 0x38800000) {
    // below 2^-14: an f16 subnormal (or zero) = round(|x| · 2^24); the product is exact in float64
    return sign | roundHalfEven(Math.abs(f32[0]) * 2 ** 24);
  }
  let half = (((abs >>> 23) - 112) << 10) | ((abs >>> 13) & 0x3ff); // rebias exponent 127 -> 15
  const rest = abs & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // carry may reach 0x7c00 = inf: correct
  return sign | half;
}

function roundHalfEven(v: number): number {
  const fl = Math.floor(v);
  const d = v - fl;
  return d > 0.5 || (d === 0.5 && (fl & 1) === 1) ? fl + 1 : fl;
}

/** bf16 bit pattern -> float32 value (exact: bf16 is the top half of a float32). */
export function bf16BitsToF32(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

/** float32 value -> bf16 bit pattern, round to nearest even. NaN stays a (quiet) NaN. */
export function f32ToBf16Bits(x: number): number {
  f32[0] = x;
  return bf16FromF32Bits(u32[0]);
}

function bf16FromF32Bits(bits: number): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

let f16Table: Float32Array | null = null;

/** Decodes n f16 values into out (a 65536-entry table makes this one lookup per value). */
export function decodeF16(src: Uint16Array, out: Float32Array): void {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = f16BitsToF32(h);
  }
  const t = f16Table;
  for (let i = 0; i < src.length; i++) out[i] = t[src[i]];
}

/** Decodes bf16 values into out by shifting each into the top half of a float32. */
export function decodeBf16(src: Uint16Array, out: Float32Array): void {
  const o = new Uint32Array(out.buffer, out.byteOffset, src.length);
  for (let i = 0; i < src.length; i++) o[i] = src[i] << 16;
}

export function encodeF16(src: Float32Array, out: Uint16Array): void {
  for (let i = 0; i < src.length; i++) out[i] = f32ToF16Bits(src[i]);
}

export function encodeBf16(src: Float32Array, out: Uint16Array): void {
  const s = new Uint32Array(src.buffer, src.byteOffset, src.length);
  for (let i = 0; i < s.length; i++) out[i] = bf16FromF32Bits(s[i]);
}
