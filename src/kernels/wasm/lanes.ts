// Lane loops over f32 rows addressed in bytes for the row-wise WebAssembly kernels (attention, layernorm):
// the body is written once over "lanes" and emitted twice, 4 lanes (v128) for the bulk and 1 lane (a splatted
// scalar, lane 0 stored) for the tail, as elementwise.ts does over element indices; plus running sums fed by them.
import { hsum } from './common.js';
import { f32, f32x4, i32, v128, type F32, type FuncBuilder, type I32, type Local, type V128 } from './emitter.js';
import { f32x4Const } from './math.js';

const F = 4;

/** One step of a lane loop at byte offset `o`: 4 consecutive f32 (wide), or 1 (splatted on load, lane 0 stored). */
export interface Lanes {
  readonly wide: boolean;
  load(base: I32): V128;
  store(base: I32, v: V128): void;
}

/**
 * Runs body over the byte offsets [start, end) of f32 rows: 16 bytes at a time, then 4 at a time. Row kernels
 * pass end = the row's byte length; element-wise kernels pass a thread's range [4·lo, 4·hi).
 */
export function forLanes(f: FuncBuilder, end: I32, body: (l: Lanes) => void, start: I32 = 0): void {
  const o = f.local('i32');
  const at = (base: I32) => i32.add(base, o);
  const bulk: Lanes = { wide: true, load: (b) => v128.load(at(b)), store: (b, v) => f.emit(v128.store(at(b), v)) };
  const tail: Lanes = {
    wide: false,
    load: (b) => v128.load32_splat(at(b)),
    store: (b, v) => f.emit(f32.store(at(b), f32x4.extract_lane(v, 0))),
  };
  f.set(o, start);
  f.block((exit) => f.loop((again) => {
    f.brIf(exit, i32.gt_s(i32.add(o, 16), end));
    body(bulk);
    f.inc(o, 16);
    f.br(again);
  }));
  f.block((exit) => f.loop((again) => {
    f.brIf(exit, i32.ge_s(o, end));
    body(tail);
    f.inc(o, F);
    f.br(again);
  }));
}

/** A running sum filled from a lane loop: the wide steps into a vector, the tail steps into a scalar. */
export class LaneSum {
  private readonly vec: Local<'v128'>;
  private readonly scalar: Local<'f32'>;
  constructor(private readonly f: FuncBuilder) {
    this.vec = f.local('v128');
    this.scalar = f.local('f32');
  }
  reset(): void {
    this.f.set(this.vec, f32x4Const(0));
    this.f.set(this.scalar, f32.const(0));
  }
  add(l: Lanes, v: V128): void {
    if (l.wide) this.f.set(this.vec, f32x4.add(this.vec, v));
    else this.f.set(this.scalar, f32.add(this.scalar, f32x4.extract_lane(v, 0)));
  }
  value(): F32 {
    return f32.add(this.scalar, hsum(this.vec));
  }
}
