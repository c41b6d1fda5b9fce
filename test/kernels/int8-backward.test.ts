// The input gradient of the int8 weight matmul (dx = dy·(scales ⊙ w), kernels/int8-backward.ts): the float64 oracle
// is the adjoint of the forward oracle (⟨dy, a·Wᵀ⟩ = ⟨dy·W, a⟩ for random a, dy), and the strip-wise fast form on
// every tier (wasm 1 and 2 threads, js) equals the oracle within float32 rounding, over random shapes, blocks, strip
// sizes (one strip, many, one row each) and accumulate on/off.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKernels } from '../../src/kernels/index.js';
import { fastMatmulInt8T, int8BackwardFor, refMatmulInt8T } from '../../src/kernels/int8-backward.js';
import { refMatmulInt8 } from '../../src/kernels/int8.js';
import { ref } from '../../src/kernels/ref.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';
import { Rng } from '../../src/util/rng.js';

const tiers = [createWasmKernels({ threads: 1 }), createWasmKernels({ threads: 2, parallelMinMacs: 0 }), createKernels('js', { threads: 1 })];

function problem(M: number, N: number, K: number, block: number, seed: number) {
  const rng = new Rng(seed);
  const nb = Math.ceil(K / block);
  const dy = Float32Array.from({ length: M * N }, () => rng.random() * 2 - 1);
  const w = Int8Array.from({ length: N * K }, () => rng.int(255) - 127);
  const scales = Float32Array.from({ length: N * nb }, () => rng.random() / 127);
  const init = Float32Array.from({ length: M * K }, () => rng.random() * 2 - 1);
  return { dy, w, scales, init };
}

const shape = fc.record({
  M: fc.integer({ min: 1, max: 9 }),
  N: fc.integer({ min: 1, max: 70 }),
  K: fc.integer({ min: 1, max: 70 }),
  block: fc.constantFrom(1, 3, 16, 32, 64),
  seed: fc.integer({ min: 0, max: 1e6 }),
});

describe('int8 matmul input gradient', () => {
  it('the oracle is the adjoint of the forward oracle: ⟨dy, a·Wᵀ⟩ = ⟨dy·W, a⟩', () => {
    fc.assert(
      fc.property(shape, ({ M, N, K, block, seed }) => {
        const { dy, w, scales, init: a } = problem(M, N, K, block, seed);
        const c = new Float32Array(M * N);
        refMatmulInt8(c, a, w, scales, M, K, N, block);
        const dx = new Float64Array(M * K);
        refMatmulInt8T(dx, dy, w, scales, M, N, K, block, false);
        let lhs = 0;
        let rhs = 0;
        for (let i = 0; i < M * N; i++) lhs += dy[i] * c[i];
        for (let i = 0; i < M * K; i++) rhs += dx[i] * a[i];
        expect(Math.abs(lhs - rhs)).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(lhs)));
      }),
      { numRuns: 60, seed: 21 },
    );
  });

  it('the fast form on every tier equals the oracle (strips of any size, accumulate or not)', () => {
    fc.assert(
      fc.property(shape, fc.integer({ min: 1, max: 5000 }), fc.boolean(), ({ M, N, K, block, seed }, strip, accumulate) => {
        const { dy, w, scales, init } = problem(M, N, K, block, seed);
        const want = Float64Array.from(init);
        refMatmulInt8T(want, dy, w, scales, M, N, K, block, accumulate);
        for (const k of tiers) {
          const got = Float32Array.from(init);
          fastMatmulInt8T(k, strip)(got, dy, w, scales, M, N, K, block, accumulate);
          for (let i = 0; i < got.length; i++) {
            let mag = Math.abs(init[i]);
            for (let n = 0; n < N; n++) mag += Math.abs(dy[Math.floor(i / K) * N + n]); // |dy|·max|scale·w| ≤ |dy|·1
            if (!(Math.abs(got[i] - want[i]) <= 2e-6 * mag + 1e-7)) throw new Error(`${k.name}×${k.threads} strip ${strip}: dx[${i}] ${got[i]} vs ${want[i]}`);
          }
        }
      }),
      { numRuns: 60, seed: 22 },
    );
  });

  it('ref runs the oracle; other tiers the fast form', () => {
    expect(int8BackwardFor(ref)).toBe(refMatmulInt8T);
    expect(int8BackwardFor(tiers[2])).not.toBe(refMatmulInt8T);
  });
});
