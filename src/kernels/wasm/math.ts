// Lane-wise transcendental functions for the WebAssembly kernels, which have no exp or tanh instruction:
// e^x by Cephes' expf scheme (x = n·ln2 + r, a degree-6 polynomial in r, 2^n built in the exponent bits),
// relative error ≲ 2e-7 for x in [-87, 88] (inputs are clamped there), and tanh from e^{2u}.
import { f32x4, i32x4, v128, type FuncBuilder, type V128 } from './emitter.js';

/** A v128 holding x in all four f32 lanes. */
export function f32x4Const(x: number): V128 {
  return v128.const(new Uint8Array(new Float32Array([x, x, x, x]).buffer));
}

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693359375; // ln 2 split so n·LN2_HI is exact in f32
const LN2_LO = -2.12194440e-4;
const EXP_POLY = [1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** Emits code computing e^x lane-wise into a new local and returns it. */
export function exp4(f: FuncBuilder, x: V128): V128 {
  const xc = f.local('v128');
  const n = f.local('v128');
  const r = f.local('v128');
  const p = f.local('v128');
  f.set(xc, f32x4.min(f32x4.max(x, f32x4Const(-87.3)), f32x4Const(88.3)));
  f.set(n, f32x4.nearest(f32x4.mul(xc, f32x4Const(LOG2E))));
  f.set(r, f32x4.sub(f32x4.sub(xc, f32x4.mul(n, f32x4Const(LN2_HI))), f32x4.mul(n, f32x4Const(LN2_LO))));
  f.set(p, f32x4Const(EXP_POLY[0]));
  for (const c of EXP_POLY.slice(1)) f.set(p, f32x4.add(f32x4.mul(p, r), f32x4Const(c)));
  // e^r ≈ 1 + r + r²·p(r)
  f.set(p, f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4Const(1)));
  // 2^n: the biased exponent n + 127 shifted into place (n ∈ [-126, 127] after the clamp)
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  f.set(p, f32x4.mul(p, pow2n));
  return p;
}

/** Emits code computing tanh(u) = 1 - 2/(e^{2u} + 1) lane-wise (saturates to ±1 without overflow). */
export function tanh4(f: FuncBuilder, u: V128): V128 {
  const e = exp4(f, f32x4.add(u, u));
  return f32x4.sub(f32x4Const(1), f32x4.div(f32x4Const(2), f32x4.add(e, f32x4Const(1))));
}

