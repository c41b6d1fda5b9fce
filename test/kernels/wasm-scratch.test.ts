// The wasm matmul's packing scratch and staged copies are arena allocations without the zero fill
// (alloc(..., { zero: false })), released after each call: calls must leave the arena's allocations and bump
// pointer as they were, grow the memory when the tail is too short, and still match the ref oracle on 1 and 2
// threads, also when the free tail holds garbage.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int8ErrorBound, refMatmulInt8 } from '../../src/kernels/int8.js';
import { ref } from '../../src/kernels/ref.js';
import { createWasmKernels, hasMatmulInt8 } from '../../src/kernels/wasm/index.js';
import { Arena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

// one 64 KiB page to start: the first calls' scratch cannot fit and must grow the memory
const arena = new Arena({ initialBytes: 1 });
const tiers = [1, 2].map((threads) => createWasmKernels({ threads, arena, parallelMinMacs: 0 }));

describe('wasm matmul scratch in the arena free tail', () => {
  it('grows the memory when needed, leaves used and the operands unchanged, matches ref', () => {
    const dim = fc.integer({ min: 4, max: 300 });
    fc.assert(
      fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.integer(), (M, K, N, tA, tB, seed) => {
        const rng = new Rng(seed);
        const mark = arena.mark();
        const a = arena.f32(M * K);
        const b = arena.f32(K * N);
        for (let i = 0; i < a.length; i++) a[i] = rng.random() * 2 - 1;
        for (let i = 0; i < b.length; i++) b[i] = rng.random() * 2 - 1;
        const [a0, b0] = [Float32Array.from(a), Float32Array.from(b)];
        const want = new Float32Array(M * N);
        ref.matmul(want, a, b, M, K, N, tA, tB, false);
        for (const k of tiers) {
          const c = arena.f32(M * N);
          const used = arena.used;
          k.matmul(c, a, b, M, K, N, tA, tB, false);
          expect(arena.used).toBe(used);
          let err = 0;
          for (let i = 0; i < c.length; i++) err = Math.max(err, Math.abs(c[i] - want[i]));
          expect(err, `threads=${k.threads} M=${M} K=${K} N=${N}`).toBeLessThan(1e-6 * K + 1e-5);
          // the next allocation starts where the scratch was and still comes zero-filled
          expect(arena.f32(64).every((x) => x === 0)).toBe(true);
        }
        expect(a).toEqual(a0);
        expect(b).toEqual(b0);
        arena.release(mark);
      }),
      { numRuns: 12 },
    );
    expect(arena.capacity).toBeGreaterThan(65536);
  });

  it('staged outputs and scratch need no zero fill: a NaN-filled free tail does not leak into results', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 200 }), fc.boolean(), fc.integer(), (M, K, N, tB, seed) => {
        const rng = new Rng(seed);
        const rand = (n: number) => Float32Array.from({ length: n }, () => rng.random() * 2 - 1);
        // operands outside the arena, so every call stages copies of them
        const [a, b] = [rand(M * K), rand(K * N)];
        const w = Int8Array.from({ length: N * K }, () => rng.int(255) - 127);
        const scales = rand(N * Math.ceil(K / 16));
        const want = new Float32Array(M * N);
        ref.matmul(want, a, b, M, K, N, false, tB, false);
        const wantInt8 = new Float32Array(M * N);
        refMatmulInt8(wantInt8, a, w, scales, M, K, N, 16);
        for (const k of tiers) {
          const poison = () => {
            const mark = arena.mark();
            arena.f32(4 * (M * K + K * N + M * N) + (1 << 18)).fill(NaN);
            arena.release(mark);
          };
          poison();
          const c = new Float32Array(M * N);
          k.matmul(c, a, b, M, K, N, false, tB, false);
          let err = 0;
          for (let i = 0; i < c.length; i++) err = Math.max(err, Math.abs(c[i] - want[i]));
          expect(err, `matmul threads=${k.threads} M=${M} K=${K} N=${N}`).toBeLessThan(1e-6 * K + 1e-5);
          if (!hasMatmulInt8(k)) throw new Error('wasm tier expected');
          poison();
          k.matmulInt8(c, a, w, scales, M, K, N, 16);
          for (let i = 0; i < c.length; i++) {
            const bound = int8ErrorBound(a, w, scales, K, 16, Math.floor(i / N), i % N);
            expect(Math.abs(c[i] - wantInt8[i]), `int8 threads=${k.threads} M=${M} K=${K} N=${N}`).toBeLessThanOrEqual(bound);
          }
        }
      }),
      { numRuns: 20 },
    );
  });
});
