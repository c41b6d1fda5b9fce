// Every registered kernel tier (availableTiers(), so 'wasm' is checked as soon as it registers) at 1 and
// 2 threads against the float64 `ref` oracle on the same float32-rounded inputs: random shapes including
// 1, primes and sizes that are not multiples of the tiles, all matmul forms with and without accumulate,
// arrays inside the shared arena (pool-eligible), outside it, and mixed.
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { availableTiers, createKernels, getPool, ref, type FloatArray, type Kernels } from '../../src/kernels/index.js';
import { createJsKernels } from '../../src/kernels/js.js';
import { sharedArena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

type Placement = 'arena' | 'heap' | 'mixed';
type Init = 'normal' | 'zero' | 'positive' | 'probs';

interface Case<P> {
  name: string;
  params: fc.Arbitrary<P>;
  /** Named float inputs/outputs with their size and initial contents. */
  arrays(p: P): Record<string, [number, Init]>;
  /** Int32 targets, if the kernel takes them. */
  targets?(p: P, rng: Rng): Int32Array;
  call(k: Kernels, x: Record<string, FloatArray>, p: P, targets: Int32Array): void;
  /** The arrays the kernel writes. */
  outputs: string[];
}

const dim = fc.constantFrom(1, 2, 3, 4, 5, 7, 13, 17, 31, 64, 67);
const bigDim = fc.constantFrom(1, 3, 8, 31, 64, 100, 257, 300);
const place = fc.constantFrom<Placement>('arena', 'heap', 'mixed');

function fill(a: Float64Array, init: Init, rng: Rng, rowLen: number): void {
  for (let i = 0; i < a.length; i++) {
    a[i] = init === 'zero' ? 0 : init === 'normal' ? rng.normal() : 0.1 + rng.random();
  }
  if (init === 'probs') {
    for (let r = 0; r < a.length; r += rowLen) {
      let s = 0;
      for (let i = r; i < r + rowLen; i++) s += a[i];
      for (let i = r; i < r + rowLen; i++) a[i] /= s;
    }
  }
}

/** Runs one case on `tier` and on ref (float64) and compares every output, relative to its magnitude. */
function check<P>(c: Case<P>, k: Kernels, p: P, placement: Placement, seed: number, rowLen = 1): void {
  const rng = new Rng(seed);
  const arena = sharedArena();
  const mark = arena.mark();
  try {
    const specs = Object.entries(c.arrays(p));
    const x32: Record<string, Float32Array> = {};
    const x64: Record<string, Float64Array> = {};
    specs.forEach(([name, [n, init]], i) => {
      const d = new Float64Array(n);
      fill(d, init, rng, rowLen);
      const inArena = placement === 'arena' || (placement === 'mixed' && i % 2 === 0);
      x32[name] = inArena ? arena.f32(n) : new Float32Array(n);
      x32[name].set(d);
      x64[name] = Float64Array.from(x32[name]); // the same float32-rounded values
    });
    const t64 = c.targets?.(p, rng) ?? new Int32Array(0);
    const t32 = placement === 'heap' ? t64 : arena.i32(t64.length);
    t32.set(t64);
    c.call(k, x32, p, t32);
    c.call(ref, x64, p, t64);
    for (const name of c.outputs) {
      const got = x32[name];
      const want = x64[name];
      let max = 0;
      for (const v of want) max = Math.max(max, Math.abs(v));
      for (let i = 0; i < want.length; i++) {
        const tol = 2e-5 * (Math.abs(want[i]) + max) + 1e-6;
        if (!(Math.abs(got[i] - want[i]) <= tol)) {
          expect.fail(`${k.name}/${k.threads} ${c.name} ${JSON.stringify(p)} ${placement}: ${name}[${i}] = ${got[i]}, ref ${want[i]}`);
        }
      }
    }
  } finally {
    arena.release(mark);
  }
}

const matmul: Case<{ M: number; K: number; N: number; tA: boolean; tB: boolean; acc: boolean }> = {
  name: 'matmul',
  params: fc.record({ M: dim, K: bigDim, N: dim, tA: fc.boolean(), tB: fc.boolean(), acc: fc.boolean() }),
  arrays: ({ M, K, N }) => ({ a: [M * K, 'normal'], b: [K * N, 'normal'], c: [M * N, 'normal'] }),
  call: (k, x, { M, K, N, tA, tB, acc }) => k.matmul(x.c, x.a, x.b, M, K, N, tA, tB, acc),
  outputs: ['c'],
};

const rows = fc.record({ N: fc.constantFrom(1, 2, 3, 7, 64, 131), C: fc.constantFrom(1, 2, 5, 13, 64, 768) });

const cases: Case<never>[] = [
  matmul,
  {
    name: 'add',
    params: fc.integer({ min: 1, max: 100_000 }),
    arrays: (n: number) => ({ out: [n, 'zero'], a: [n, 'normal'], b: [n, 'normal'] }),
    call: (k, x, n: number) => k.add(x.out, x.a, x.b, n),
    outputs: ['out'],
  },
  {
    name: 'logSumExp',
    params: rows,
    arrays: ({ N, C }: { N: number; C: number }) => ({ out: [N, 'zero'], inp: [N * C, 'normal'] }),
    call: (k, x, { N, C }: { N: number; C: number }) => k.logSumExp(x.out, x.inp, N, C),
    outputs: ['out'],
  },
  {
    name: 'addBias',
    params: rows,
    arrays: ({ N, C }: { N: number; C: number }) => ({ out: [N * C, 'normal'], bias: [C, 'normal'] }),
    call: (k, x, { N, C }: { N: number; C: number }) => k.addBias(x.out, x.bias, N, C),
    outputs: ['out'],
  },
  {
    name: 'layernormForward',
    params: rows,
    arrays: ({ N, C }: { N: number; C: number }) => ({
      out: [N * C, 'zero'], mean: [N, 'zero'], rstd: [N, 'zero'], inp: [N * C, 'normal'], w: [C, 'normal'], b: [C, 'normal'],
    }),
    call: (k, x, { N, C }: { N: number; C: number }) => k.layernormForward(x.out, x.mean, x.rstd, x.inp, x.w, x.b, N, C, 1e-5),
    outputs: ['out', 'mean', 'rstd'],
  },
  {
    name: 'layernormBackward',
    params: rows,
    arrays: ({ N, C }: { N: number; C: number }) => ({
      dinp: [N * C, 'normal'], dw: [C, 'normal'], db: [C, 'normal'], dout: [N * C, 'normal'], inp: [N * C, 'normal'],
      w: [C, 'normal'], mean: [N, 'normal'], rstd: [N, 'positive'],
    }),
    call: (k, x, { N, C }: { N: number; C: number }) =>
      k.layernormBackward(x.dinp, x.dw, x.db, x.dout, x.inp, x.w, x.mean, x.rstd, N, C),
    outputs: ['dinp', 'dw', 'db'],
  },
  ...attentionCases(),
  {
    name: 'geluForward',
    params: fc.integer({ min: 1, max: 50_000 }),
    arrays: (n: number) => ({ out: [n, 'zero'], inp: [n, 'normal'] }),
    call: (k, x, n: number) => k.geluForward(x.out, x.inp, n),
    outputs: ['out'],
  },
  {
    name: 'geluBackward',
    params: fc.integer({ min: 1, max: 50_000 }),
    arrays: (n: number) => ({ dinp: [n, 'normal'], inp: [n, 'normal'], dout: [n, 'normal'] }),
    call: (k, x, n: number) => k.geluBackward(x.dinp, x.inp, x.dout, n),
    outputs: ['dinp'],
  },
  {
    name: 'softmaxForward (in place)',
    params: rows,
    arrays: ({ N, C }: { N: number; C: number }) => ({ x: [N * C, 'normal'] }),
    call: (k, x, { N, C }: { N: number; C: number }) => k.softmaxForward(x.x, x.x, N, C),
    outputs: ['x'],
  },
  ...crossEntropyCases(),
  {
    name: 'adamw',
    params: fc.record({ n: fc.integer({ min: 1, max: 50_000 }), step: fc.integer({ min: 1, max: 20 }) }),
    arrays: ({ n }: { n: number; step: number }) => ({ p: [n, 'normal'], g: [n, 'normal'], m: [n, 'normal'], v: [n, 'positive'] }),
    call: (k, x, { n, step }: { n: number; step: number }) => k.adamw(x.p, x.g, x.m, x.v, n, 1e-3, 0.9, 0.95, 1e-8, 0.1, step),
    outputs: ['p', 'm', 'v'],
  },
] as Case<never>[];

function attentionCases(): Case<never>[] {
  type A = { B: number; T: number; NH: number; hs: number };
  const params = fc.record({
    B: fc.constantFrom(1, 2, 3),
    T: fc.constantFrom(1, 2, 5, 16, 33),
    NH: fc.constantFrom(1, 2, 3),
    hs: fc.constantFrom(1, 4, 7, 16),
  });
  const fwd: Case<A> = {
    name: 'attentionForward',
    params,
    arrays: ({ B, T, NH, hs }) => ({
      out: [B * T * NH * hs, 'normal'], preatt: [B * NH * T * T, 'normal'], att: [B * NH * T * T, 'normal'],
      qkv: [B * T * 3 * NH * hs, 'normal'],
    }),
    call: (k, x, { B, T, NH, hs }) => k.attentionForward(x.out, x.preatt, x.att, x.qkv, B, T, NH * hs, NH),
    outputs: ['out', 'preatt', 'att'],
  };
  const bwd: Case<A> = {
    name: 'attentionBackward',
    params,
    arrays: ({ B, T, NH, hs }) => ({
      dqkv: [B * T * 3 * NH * hs, 'normal'], dpreatt: [B * NH * T * T, 'normal'], datt: [B * NH * T * T, 'normal'],
      dout: [B * T * NH * hs, 'normal'], qkv: [B * T * 3 * NH * hs, 'normal'], att: [B * NH * T * T, 'positive'],
    }),
    call: (k, x, { B, T, NH, hs }) => k.attentionBackward(x.dqkv, x.dpreatt, x.datt, x.dout, x.qkv, x.att, B, T, NH * hs, NH),
    outputs: ['dqkv'],
  };
  return [fwd, bwd] as Case<never>[];
}

function crossEntropyCases(): Case<never>[] {
  type X = { N: number; V: number };
  const params = fc.record({ N: fc.constantFrom(1, 2, 7, 64), V: fc.constantFrom(1, 2, 13, 257, 3001) });
  const targets = ({ N, V }: X, rng: Rng) => Int32Array.from({ length: N }, () => (rng.random() < 0.2 ? -1 : rng.int(V)));
  const fwd: Case<X> = {
    name: 'crossEntropyForward',
    params,
    arrays: ({ N, V }) => ({ losses: [N, 'normal'], probs: [N * V, 'probs'] }),
    targets,
    call: (k, x, { N, V }, t) => k.crossEntropyForward(x.losses, x.probs, t, N, V),
    outputs: ['losses'],
  };
  const bwd: Case<X> = {
    name: 'crossEntropySoftmaxBackward',
    params,
    arrays: ({ N, V }) => ({ dlogits: [N * V, 'normal'], dlosses: [N, 'normal'], probs: [N * V, 'probs'] }),
    targets,
    call: (k, x, { N, V }, t) => k.crossEntropySoftmaxBackward(x.dlogits, x.dlosses, x.probs, t, N, V),
    outputs: ['dlogits'],
  };
  return [fwd, bwd] as Case<never>[];
}

/** Every tier at 1 and 2 threads, plus js with every arena call sent to the pool (whatever its size). */
const matrix = [
  ...availableTiers()
    .filter((t) => t !== 'ref')
    .flatMap((tier) => [1, 2].map((threads) => ({ label: `${tier}, ${threads} thread(s)`, threads, k: () => createKernels(tier, { threads }) }))),
  { label: 'js, 2 threads, every call pooled', threads: 2, k: () => createJsKernels(2, { minParallelWork: 1 }) },
];

describe.each(matrix)('$label', ({ label, threads, k: make }) => {
  const k = make();
  let workerChunksBefore = 0;
  // let the workers start first, so they take part in the pooled calls below
  beforeAll(async () => {
    if (threads === 1) return;
    await getPool(threads).ready();
    workerChunksBefore = getPool(threads).workerChunks;
  });
  it.each(cases.map((c) => ({ name: c.name, c })))('$name matches ref', ({ c }) => {
    const rowLen = (p: unknown) => (p as { V?: number }).V ?? 1;
    fc.assert(
      fc.property(c.params, place, fc.integer({ min: 1, max: 2 ** 31 - 1 }), (p, placement, seed) =>
        check(c, k, p, placement, seed, rowLen(p)),
      ),
      { numRuns: 25 },
    );
  });
  if (label.includes('every call pooled')) {
    it('split work across the pool threads', () => expect(getPool(threads).workerChunks).toBeGreaterThan(workerChunksBefore));
  }
});

it('float64 inputs are delegated to ref on every tier', () => {
  for (const tier of availableTiers()) {
    const k = createKernels(tier, { threads: 2 });
    const a = new Float64Array([1e-10, 1]);
    const out = new Float64Array(2);
    k.add(out, a, new Float64Array([1, 1]), 2);
    expect(out[0]).toBe(1 + 1e-10); // not representable in float32
  }
});
