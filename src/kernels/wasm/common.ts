// Code-generation helpers shared by the WebAssembly kernels: how a thread finds its share of the work
// and horizontal sums. Each helper emits code into the function being built (see emitter.ts).
import { f32, f32x4, i32, type F32, type FuncBuilder, type I32, type Local, type V128 } from './emitter.js';

/**
 * Sets [lo, hi) to thread t's share of [0, extent): runs of whole tiles dealt out in equal contiguous
 * chunks, so that every thread but the last gets ceil(tiles/threads) tiles.
 */
export function threadRange(f: FuncBuilder, extent: I32, tile: I32, threads: I32, t: I32, lo: Local<'i32'>, hi: Local<'i32'>): void {
  const tiles = i32.div_s(i32.add(extent, i32.sub(tile, 1)), tile);
  const per = i32.mul(i32.div_s(i32.add(tiles, i32.sub(threads, 1)), threads), tile);
  f.set(lo, i32.min_s(extent, i32.mul(t, per)));
  f.set(hi, i32.min_s(extent, i32.mul(i32.add(t, 1), per)));
}

/** v[0] + v[1] + v[2] + v[3]. */
export function hsum(v: V128): F32 {
  return f32.add(f32.add(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), f32.add(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}
