// The int8 weight matmul of every tier against the float64 `ref` oracle (refMatmulInt8) on random shapes and
// block sizes: the wasm tier on 1 and 2 threads (every call split across the pool), in and out of the arena, within
// the stated activation-quantization bound (int8ErrorBound); the plain-TS fallback within float rounding, on the js
// tier's worker pool the same bits on 1, 2 and 3 threads; and the int32 worst case (|w| = 127, |a| at its largest, a
// full 1024-value block) without overflow.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createJsKernels, getPool } from '../../src/kernels/index.js';
import { int8ErrorBound, int8MatmulFor, jsMatmulInt8, refMatmulInt8, type MatmulInt8 } from '../../src/kernels/int8.js';
import { ref } from '../../src/kernels/ref.js';
import { createWasmKernels, INT8_MAX_BLOCK, type WasmKernels } from '../../src/kernels/wasm/index.js';
import { Arena, sharedArena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

const arena = new Arena({ initialBytes: 16 << 20 });
const wasm = [1, 2].map((threads) => createWasmKernels({ threads, arena, parallelMinMacs: 0 }) as WasmKernels);
const tiers: [string, MatmulInt8, boolean][] = [
  ...wasm.map((k): [string, MatmulInt8, boolean] => [`wasm ${k.threads} threads`, int8MatmulFor(k), true]),
  ['js', jsMatmulInt8, false],
];

function problem(M: number, K: number, N: number, block: number, seed: number, inArena: boolean, outlier: boolean) {
  const rng = new Rng(seed);
  const nb = Math.ceil(K / block);
  const a = inArena ? arena.f32(M * K) : new Float32Array(M * K);
  for (let i = 0; i < a.length; i++) a[i] = (rng.random() * 2 - 1) * (outlier && i % 7 === 3 ? 60 : 1);
  const w = inArena ? arena.alloc('i8', N * K) : new Int8Array(N * K);
  for (let i = 0; i < w.length; i++) w[i] = rng.int(255) - 127;
  const scales = inArena ? arena.f32(N * nb) : new Float32Array(N * nb);
  for (let i = 0; i < scales.length; i++) scales[i] = rng.random() / 127;
  return { a, w, scales };
}

describe('int8 matmul, every tier vs the float64 oracle', () => {
  it('random shapes and blocks, in and out of the arena', () => {
    const dim = fc.oneof(fc.constantFrom(1, 3, 4, 5, 15, 16, 17, 31, 33), fc.integer({ min: 1, max: 90 }));
    const K = fc.oneof(dim, fc.constantFrom(255, 768, 1030));
    const block = fc.constantFrom(16, 32, 64, 48, 1024);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), K, dim, block, fc.boolean(), fc.boolean(), fc.integer(), (M, K, N, block, inArena, outlier, seed) => {
        const mark = arena.mark();
        const { a, w, scales } = problem(M, K, N, block, seed, inArena, outlier);
        const want = new Float32Array(M * N);
        refMatmulInt8(want, a, w, scales, M, K, N, block);
        for (const [name, mm, quantizesA] of tiers) {
          const c = inArena ? arena.f32(M * N).fill(NaN) : new Float32Array(M * N).fill(NaN);
          mm(c, a, w, scales, M, K, N, block);
          for (let i = 0; i < M * N; i++) {
            const row = Math.floor(i / N);
            const bound = quantizesA ? int8ErrorBound(a, w, scales, K, block, row, i % N) : 1e-6 * Math.abs(want[i]) + 1e-9;
            expect(Math.abs(c[i] - want[i]), `${name} M=${M} K=${K} N=${N} block=${block} out ${i}`).toBeLessThanOrEqual(bound);
          }
        }
        arena.release(mark);
      }),
      { numRuns: 50 },
    );
  });

  it('the bound is tight enough to catch a wrong scale block', () => {
    const { a, w, scales } = problem(2, 96, 5, 32, 7, false, false);
    const want = new Float32Array(10);
    refMatmulInt8(want, a, w, scales, 2, 96, 5, 32);
    const c = new Float32Array(10);
    int8MatmulFor(wasm[0])(c, a, w, scales, 2, 96, 5, 64); // scales read as blocks of 64: wrong
    const worst = Math.max(...Array.from(c, (x, i) => Math.abs(x - want[i]) - int8ErrorBound(a, w, scales, 96, 32, Math.floor(i / 5), i % 5)));
    expect(worst).toBeGreaterThan(0);
  });

  it('sums a full block of extreme values without int32 overflow', () => {
    const K = 2 * INT8_MAX_BLOCK + 5;
    for (const sign of [1, -1]) {
      const a = new Float32Array(K).fill(3.5 * sign);
      const w = new Int8Array(2 * K).fill(127);
      w.fill(-127, K);
      const scales = new Float32Array(2 * Math.ceil(K / INT8_MAX_BLOCK)).fill(1);
      const c = new Float32Array(2);
      for (const [name, mm] of tiers) {
        mm(c, a, w, scales, 1, K, 2, INT8_MAX_BLOCK);
        expect(c[0] / (3.5 * sign * 127 * K), name).toBeCloseTo(1, 5);
        expect(c[1] / (-3.5 * sign * 127 * K), name).toBeCloseTo(1, 5);
      }
    }
  });

  it('the js tier on its worker pool: the plain-TS loop split by columns, same bits on 1, 2 and 3 threads', async () => {
    const js = [1, 2, 3].map((threads) => createJsKernels(threads, { minParallelWork: 1 }));
    await Promise.all([getPool(2).ready(), getPool(3).ready()]);
    const shared = sharedArena();
    const chunksBefore = getPool(2).workerChunks + getPool(3).workerChunks;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 70 }), fc.constantFrom(16, 32, 64, 1024), fc.integer(), (M, K, N, block, seed) => {
        const mark = shared.mark();
        const p = problem(M, K, N, block, seed, false, seed % 2 === 0);
        // the operands in the shared arena, where the pool's threads can read them
        const [a, w, scales] = [shared.f32(p.a.length), shared.alloc('i8', p.w.length), shared.f32(p.scales.length)];
        a.set(p.a);
        w.set(p.w);
        scales.set(p.scales);
        const want = new Float32Array(M * N);
        refMatmulInt8(want, a, w, scales, M, K, N, block);
        const one = new Float32Array(M * N);
        jsMatmulInt8(one, p.a, p.w, p.scales, M, K, N, block);
        for (const k of js) {
          const c = shared.f32(M * N).fill(NaN);
          int8MatmulFor(k)(c, a, w, scales, M, K, N, block);
          expect(Array.from(c), `threads=${k.threads} M=${M} K=${K} N=${N} block=${block}`).toEqual(Array.from(one));
        }
        for (let i = 0; i < M * N; i++) expect(Math.abs(one[i] - want[i])).toBeLessThanOrEqual(1e-6 * Math.abs(want[i]) + 1e-9);
        shared.release(mark);
      }),
      { numRuns: 40 },
    );
    // the work really ran on worker threads
    expect(getPool(2).workerChunks + getPool(3).workerChunks).toBeGreaterThan(chunksBefore);
  });

  it('zero activations give zeros; the ref tier uses the oracle; bad blocks are refused', () => {
    const c = new Float32Array(3).fill(NaN);
    int8MatmulFor(wasm[1])(c, new Float32Array(32), new Int8Array(96).fill(5), new Float32Array(3).fill(1), 1, 32, 3, 32);
    expect([...c]).toEqual([0, 0, 0]);
    expect(int8MatmulFor(ref)).toBe(refMatmulInt8);
    expect(int8MatmulFor({ ...ref, name: 'other' })).toBe(jsMatmulInt8);
    expect(() => wasm[0].matmulInt8(c, new Float32Array(32), new Int8Array(96), new Float32Array(3), 1, 32, 3, 24)).toThrow(/multiple of 16/);
  });
});
