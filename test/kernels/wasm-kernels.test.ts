// Every WebAssembly kernel against the `ref` oracle on random shapes: 1, primes and sizes that are not
// multiples of the 4x8 tile or of the KC/NC cache blocks; all three matmul forms plus accumulate; 1 and 2
// threads; arrays inside the shared arena (zero copy) and ordinary Float32Arrays (staged copies).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/ref.js';
import { createWasmKernels, hasMatmulInt8, type WasmKernels } from '../../src/kernels/wasm/index.js';
import { getPool } from '../../src/kernels/pool.js';
import { Arena, sharedArena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

const arena = new Arena({ initialBytes: 64 << 20 });
// parallelMinMacs 0: every call, however small, is split across the threads
const tiers = [1, 2].map((threads) => createWasmKernels({ threads, arena, parallelMinMacs: 0 }) as WasmKernels);

const dim = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 31, 33, 67), fc.integer({ min: 1, max: 80 }));
// K crosses the KC = 256 block, N the NC = 512 block
const bigK = fc.constantFrom(255, 256, 257, 300, 521);
const bigN = fc.constantFrom(511, 512, 513, 523);

function filled(n: number, rng: Rng, inArena: boolean): Float32Array {
  const x = inArena ? arena.f32(n) : new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = rng.random() * 2 - 1;
  return x;
}

function maxErr(x: Float32Array, y: Float32Array): number {
  let e = 0;
  for (let i = 0; i < x.length; i++) e = Math.max(e, Math.abs(x[i] - y[i]));
  return e;
}

function checkMatmul(M: number, K: number, N: number, tA: boolean, tB: boolean, acc: boolean, inArena: boolean, seed: number): void {
  const mark = arena.mark();
  const rng = new Rng(seed);
  const a = filled(M * K, rng, inArena); // (M,K) or stored (K,M)
  const b = filled(K * N, rng, inArena); // (K,N) or stored (N,K)
  const c0 = filled(M * N, rng, inArena);
  if (!acc) c0.fill(NaN); // an overwrite must not read c
  const want = acc ? Float32Array.from(c0) : new Float32Array(M * N);
  ref.matmul(want, a, b, M, K, N, tA, tB, acc);
  for (const k of tiers) {
    const c = inArena ? arena.f32(M * N) : new Float32Array(M * N);
    c.set(c0);
    k.matmul(c, a, b, M, K, N, tA, tB, acc);
    expect(maxErr(c, want), `threads=${k.threads} M=${M} K=${K} N=${N} tA=${tA} tB=${tB} acc=${acc}`).toBeLessThan(1e-6 * K + 1e-5);
  }
  arena.release(mark);
}

describe('wasm matmul vs ref', () => {
  it('all forms on small odd shapes, in and out of the arena', () => {
    fc.assert(
      fc.property(dim, dim, dim, fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean(), fc.integer(), (M, K, N, tA, tB, acc, inA, s) => {
        checkMatmul(M, K, N, tA, tB, acc, inA, s);
      }),
      { numRuns: 150 },
    );
  });

  it('shapes crossing the K and N cache blocks', () => {
    fc.assert(
      fc.property(dim, bigK, bigN, fc.boolean(), fc.boolean(), fc.boolean(), fc.integer(), (M, K, N, tA, tB, acc, s) => {
        checkMatmul(M, K, N, tA, tB, acc, true, s);
      }),
      { numRuns: 16 },
    );
  });

  it('more rows than columns (threads split M) and the matvec path (M=1..3, and up to 7 rows against Bᵀ)', () => {
    for (const [M, K, N] of [[300, 37, 9], [133, 129, 20], [1, 300, 700], [2, 70, 33], [3, 5, 517], [1, 1, 1], [5, 70, 33], [7, 129, 517], [8, 64, 40]]) {
      for (const tA of [false, true]) for (const tB of [false, true]) checkMatmul(M, K, N, tA, tB, true, true, M + K + N);
    }
  });

  it('degenerate sizes: K = 0 clears or keeps c; M or N = 0 is a no-op', () => {
    const [k] = tiers;
    const c = new Float32Array([1, 2, 3, 4]);
    k.matmul(c, new Float32Array(0), new Float32Array(0), 2, 0, 2, false, false, true);
    expect([...c]).toEqual([1, 2, 3, 4]);
    k.matmul(c, new Float32Array(0), new Float32Array(0), 2, 0, 2, false, false, false);
    expect([...c]).toEqual([0, 0, 0, 0]);
    k.matmul(c, new Float32Array(4), new Float32Array(4), 0, 2, 2, false, false, false);
    expect([...c]).toEqual([0, 0, 0, 0]);
  });

  it('hands Float64Array to ref', () => {
    const a = new Float64Array([1, 2, 3, 4]);
    const c = new Float64Array(4);
    tiers[1].matmul(c, a, a, 2, 2, 2, false, false, false);
    expect([...c]).toEqual([7, 10, 15, 22]);
  });
});

describe('wasm tier plumbing', () => {
  it('is named wasm, reports its threads and delegates the other kernels', () => {
    expect(tiers.map((k) => [k.name, k.threads])).toEqual([['wasm', 1], ['wasm', 2]]);
    expect(tiers.every(hasMatmulInt8)).toBe(true);
    expect(hasMatmulInt8(ref)).toBe(false);
    const out = new Float32Array(3);
    tiers[1].add(out, new Float32Array([1, 2, 3]), new Float32Array([10, 20, 30]), 3);
    expect([...out]).toEqual([11, 22, 33]);
  });

  it('leaves the arena as it found it', () => {
    const before = arena.used;
    const a = new Float32Array(40 * 50).fill(1);
    tiers[1].matmul(new Float32Array(40 * 60), a, new Float32Array(50 * 60), 40, 50, 60, false, false, false);
    expect(arena.used).toBe(before);
  });
});

/** Compares a wasm kernel with ref: run(k, arrays) on fresh copies of the same inputs, all in the arena. */
function compareWithRef(inputs: Float32Array[], run: (k: typeof ref, xs: Float32Array[]) => void, tol: (want: number) => number): void {
  const mark = arena.mark();
  const want = inputs.map((x) => Float32Array.from(x));
  run(ref, want);
  for (const k of tiers) {
    const got = inputs.map((x) => {
      const y = arena.f32(x.length);
      y.set(x);
      return y;
    });
    run(k, got);
    got.forEach((g, j) => {
      for (let i = 0; i < g.length; i++) {
        const w = want[j][i];
        if (!(Math.abs(g[i] - w) <= tol(w))) expect.fail(`threads=${k.threads} array ${j}[${i}] = ${g[i]}, ref ${w}`);
      }
    });
  }
  arena.release(mark);
}

const len = fc.oneof(fc.constantFrom(1, 2, 3, 4, 5, 7, 16, 17, 63, 1031), fc.integer({ min: 1, max: 300 }));
function values(n: number, rng: Rng, scale: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (rng.random() * 2 - 1) * scale;
  return x;
}

describe('wasm element-wise kernels vs ref', () => {
  it('GELU forward and backward, including large |x| and exact zeros', () => {
    fc.assert(
      fc.property(len, fc.constantFrom(0.5, 4, 30), fc.integer(), (n, scale, s) => {
        const rng = new Rng(s);
        const inp = values(n, rng, scale);
        inp[0] = 0;
        if (n > 2) inp[1] = 100;
        if (n > 3) inp[2] = -100;
        const tol = (w: number) => 2e-6 * Math.max(1, Math.abs(w));
        compareWithRef([new Float32Array(n), inp], (k, [out, x]) => k.geluForward(out, x, n), tol);
        compareWithRef([values(n, rng, 1), inp, values(n, rng, 1)], (k, [dinp, x, dout]) => k.geluBackward(dinp, x, dout, n), tol);
      }),
      { numRuns: 80 },
    );
  });

  it('softmax rows (in place too), with large logits', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), len, fc.constantFrom(1, 20, 300), fc.boolean(), fc.integer(), (N, C, scale, inPlace, s) => {
        const rng = new Rng(s);
        const inp = values(N * C, rng, scale);
        const tol = (w: number) => 1e-6 + 2e-6 * Math.abs(w);
        if (inPlace) compareWithRef([inp], (k, [x]) => k.softmaxForward(x, x, N, C), tol);
        else compareWithRef([new Float32Array(N * C), inp], (k, [out, x]) => k.softmaxForward(out, x, N, C), tol);
      }),
      { numRuns: 80 },
    );
  });

  it('log-sum-exp rows: within 1e-6 of float64 even over a 50257-wide vocabulary (a plain float32 sum does not)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.oneof(len, fc.constant(50257)), fc.constantFrom(1, 4, 30), fc.integer(), (N, C, scale, s) => {
        const rng = new Rng(s);
        const inp = values(N * C, rng, scale);
        const want = new Float64Array(N);
        ref.logSumExp(want, Float64Array.from(inp), N, C);
        const mark = arena.mark();
        const x = arena.f32(N * C);
        x.set(inp);
        for (const k of tiers) {
          const got = new Float64Array(N).fill(NaN); // the result needs no arena view
          k.logSumExp(got, x, N, C);
          for (let r = 0; r < N; r++) expect(Math.abs(got[r] - want[r]), `threads=${k.threads} N=${N} C=${C} row ${r}`).toBeLessThan(1e-6);
        }
        arena.release(mark);
      }),
      { numRuns: 40 },
    );
  });

  it('softmax + cross-entropy backward: accumulates into dlogits, skips rows with a negative target', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), len, fc.boolean(), fc.integer(), (N, V, stagedLosses, s) => {
        const rng = new Rng(s);
        const targets = Int32Array.from({ length: N }, () => (rng.random() < 0.25 ? -1 : rng.int(V)));
        const probs = values(N * V, rng, 1).map(Math.abs);
        const dlosses = values(N, rng, 2);
        const tol = (w: number) => 1e-6 + 1e-6 * Math.abs(w);
        // dlogits and probs in the arena (zero copy); dlosses in or out of it (staged), the targets never are
        const run = (k: typeof ref, [dl, p, d]: Float32Array[]) => k.crossEntropySoftmaxBackward(dl, stagedLosses ? Float32Array.from(d) : d, p, targets, N, V);
        compareWithRef([values(N * V, rng, 1), probs, dlosses], run, tol);
      }),
      { numRuns: 80 },
    );
  });

  it('AdamW steps on params, moments and grads', () => {
    fc.assert(
      fc.property(len, fc.integer({ min: 1, max: 1000 }), fc.constantFrom(0, 0.1), fc.integer(), (n, step, wd, s) => {
        const rng = new Rng(s);
        const v = values(n, rng, 1).map(Math.abs);
        const tol = (w: number) => 1e-6 * Math.max(1, Math.abs(w));
        compareWithRef([values(n, rng, 1), values(n, rng, 1), values(n, rng, 0.1), v], (k, [p, g, m1, m2]) => k.adamw(p, g, m1, m2, n, 1e-3, 0.9, 0.95, 1e-8, wd, step), tol);
      }),
      { numRuns: 60 },
    );
  });

  it('arrays outside the arena go to the fallback tier, with the same results', () => {
    const x = Float32Array.from([-3, -0.5, 0, 0.5, 3]);
    const want = new Float32Array(5);
    ref.geluForward(want, x, 5);
    const got = new Float32Array(5);
    tiers[1].geluForward(got, x, 5);
    for (let i = 0; i < 5; i++) expect(got[i]).toBeCloseTo(want[i], 6);
  });
});

describe('wasm tier on the shared kernel pool', () => {
  it('splits big calls across the pool workers and matches ref', async () => {
    const shared = sharedArena();
    const pool = getPool(2);
    await pool.ready();
    const k = createWasmKernels({ threads: 2, arena: shared });
    const [M, K, N] = [128, 256, 512]; // ~1 ms per thread: a worker is woken in time even on a busy machine
    const mark = shared.mark();
    const rng = new Rng(7);
    const a = shared.f32(M * K);
    const b = shared.f32(K * N);
    const c = shared.f32(M * N);
    a.set(filled(M * K, rng, false));
    b.set(filled(K * N, rng, false));
    const want = new Float32Array(M * N);
    ref.matmul(want, a, b, M, K, N, false, true, false);
    const before = pool.workerChunks;
    for (let r = 0; r < 20; r++) k.matmul(c, a, b, M, K, N, false, true, false);
    expect(pool.workerChunks).toBeGreaterThan(before);
    expect(maxErr(c, want)).toBeLessThan(1e-4);
    shared.release(mark);
  });
});

describe('wasm attentionDecode (KV-cache attention of new rows) vs ref attention', () => {
  it('matches the causal attention of the full sequence at every position, rows fed in chunks, on 1 and 2 threads', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 40 }), fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 4 }), fc.integer(), (NH, hsQ, T, splits, seed) => {
        const mark = arena.mark();
        const C = NH * hsQ;
        const rng = new Rng(seed);
        const qkv = filled(T * 3 * C, rng, true);
        const want = new Float32Array(T * C);
        ref.attentionForward(want, new Float32Array(NH * T * T), new Float32Array(NH * T * T), qkv, 1, T, C, NH);
        const K = arena.f32(T * C);
        const V = arena.f32(T * C);
        for (let t = 0; t < T; t++) {
          K.set(qkv.subarray(t * 3 * C + C, t * 3 * C + 2 * C), t * C);
          V.set(qkv.subarray(t * 3 * C + 2 * C, t * 3 * C + 3 * C), t * C);
        }
        const scores = arena.f32(NH * T);
        for (const k of tiers) {
          const out = arena.f32(T * C).fill(NaN);
          for (let t = 0, s = 0; t < T; s++) {
            const rows = Math.min(splits[s % splits.length], T - t);
            expect(k.attentionDecode(out.subarray(t * C), qkv.subarray(t * 3 * C), K, V, scores, t, C, NH, rows)).toBe(true);
            t += rows;
          }
          expect(maxErr(out, want), `threads=${k.threads} NH=${NH} C=${C} T=${T} splits=${splits}`).toBeLessThan(1e-5);
        }
        expect(tiers[0].attentionDecode(new Float32Array(C), qkv, K, V, scores, 0, C, NH)).toBe(false); // not in the arena
        arena.release(mark);
      }),
      { numRuns: 40 },
    );
  });
});
