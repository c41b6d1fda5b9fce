// Property-based gradient checks for every primitive op: random shapes, random values, a random
// upstream gradient, float64 central differences, relative tolerance 1e-6.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import { Tensor, tensor } from '../../src/tensor/index.js';
import * as F from '../../src/autograd/index.js';
import { assertGradcheck } from '../../src/autograd/index.js';
import { awayFromZero, broadcastPairArb, f64, runs, seedArb, shapeArb } from './arbitraries.js';

const binary: [string, (a: Tensor, b: Tensor) => Tensor, (t: Tensor) => Tensor, (t: Tensor) => Tensor][] = [
  ['add', F.add, (t) => t, (t) => t],
  ['sub', F.sub, (t) => t, (t) => t],
  ['mul', F.mul, (t) => t, (t) => t],
  ['div', F.div, (t) => t, (t) => awayFromZero(t, 0.5)],
  ['pow', F.pow, (t) => awayFromZero(t, 0.5, true), (t) => t],
];

describe('gradcheck: elementwise ops with broadcasting', () => {
  for (const [name, op, prepA, prepB] of binary) {
    it(name, () => {
      fc.assert(
        fc.property(broadcastPairArb, fc.boolean(), seedArb, ([sa, sb], swap, seed) => {
          const rng = new Rng(seed);
          const a = prepA(f64(swap ? sb : sa, rng));
          const b = prepB(f64(swap ? sa : sb, rng));
          assertGradcheck(op, [a, b], { seed });
        }),
        runs(25),
      );
    });
  }

  const unary: [string, (x: Tensor) => Tensor, (t: Tensor) => Tensor][] = [
    ['neg', F.neg, (t) => t],
    ['exp', F.exp, (t) => t],
    ['log', F.log, (t) => awayFromZero(t, 0.3, true)],
    ['sqrt', F.sqrt, (t) => awayFromZero(t, 0.3, true)],
    ['tanh', F.tanh, (t) => t],
    ['relu', F.relu, (t) => awayFromZero(t, 0.1)],
    ['gelu (fused)', F.gelu, (t) => t],
    ['scalar operands', (x) => F.sub(2, F.mul(F.div(x, 3), F.add(x, 1.5))), (t) => t],
  ];
  for (const [name, op, prep] of unary) {
    it(name, () => {
      fc.assert(
        fc.property(shapeArb(), seedArb, (shape, seed) => {
          assertGradcheck(op, [prep(f64(shape, new Rng(seed)))], { seed });
        }),
        runs(25),
      );
    });
  }
});

const axesArb = shapeArb(1, 3).chain((shape) =>
  fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, i) => i)), fc.boolean(), fc.boolean()),
);

describe('gradcheck: reductions', () => {
  for (const [name, op] of [['sum', F.sum], ['mean', F.mean], ['max', F.max]] as const) {
    it(`${name} over random axes, with and without keepdim`, () => {
      fc.assert(
        fc.property(axesArb, seedArb, ([shape, axes, keepdim, all], seed) => {
          const x = f64(shape, new Rng(seed));
          assertGradcheck((t) => op(t, all ? undefined : axes, keepdim), [x], { seed });
        }),
        runs(25),
      );
    });
  }

  it('max shares the gradient among ties', () => {
    const x = tensor([1, 3, 3, 2], { requiresGrad: true });
    F.max(x).backward();
    expect(x.grad!.toArray()).toEqual([0, 0.5, 0.5, 0]);
  });
});

describe('gradcheck: matmul', () => {
  it('2-D and batched with broadcast batch axes', () => {
    const arb = fc.tuple(shapeArb(0, 2), fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }), dims3(), seedArb);
    fc.assert(
      fc.property(arb, ([batch, ones, [M, K, N], seed]) => {
        const rng = new Rng(seed);
        const a = f64([...batch.map((d, i) => (ones[i % 2] ? 1 : d)), M, K], rng);
        const b = f64([...batch.slice(ones[0] ? 1 : 0), K, N], rng);
        assertGradcheck(F.matmul, [a, b], { seed });
      }),
      runs(25),
    );
  });
});

function dims3() {
  return fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }));
}

describe('gradcheck: softmax family', () => {
  for (const [name, op] of [['softmax', F.softmax], ['logSoftmax', F.logSoftmax]] as const) {
    it(`${name} along a random axis`, () => {
      fc.assert(
        fc.property(shapeArb(1, 3), fc.nat(), seedArb, (shape, ax, seed) => {
          const axis = (ax % shape.length) - (ax % 2 ? shape.length : 0); // positive and negative axes
          assertGradcheck((x) => op(x, axis), [f64(shape, new Rng(seed), 2)], { seed });
        }),
        runs(25),
      );
    });
  }
});

describe('gradcheck: views', () => {
  it('reshape, permute, transpose, unsqueeze/squeeze, contiguous', () => {
    fc.assert(
      fc.property(shapeArb(2, 4), seedArb, (shape, seed) => {
        const rng = new Rng(seed);
        const perm = rng.shuffle(shape.map((_, i) => i)) as number[];
        const fn = (x: Tensor) => {
          const p = F.permute(F.mul(x, x), perm); // non-contiguous view
          const r = F.reshape(F.transpose(p, 0, -1), [-1]);
          return F.squeeze(F.unsqueeze(F.contiguous(F.exp(r)), 0), 0);
        };
        assertGradcheck(fn, [f64(shape, rng)], { seed });
      }),
      runs(25),
    );
  });

  it('slice and expand', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.nat(), fc.nat(), seedArb, (shape, s0, len, seed) => {
        const rng = new Rng(seed);
        const axis = s0 % shape.length;
        const start = s0 % shape[axis];
        const end = start + 1 + (len % (shape[axis] - start));
        const fn = (x: Tensor) => F.mul(F.expand(F.slice(x, axis, start, end), [2, ...shapeAfter(shape, axis, end - start)]), 1.5);
        assertGradcheck(fn, [f64(shape, rng)], { seed });
      }),
      runs(25),
    );
  });

  it('concat and split', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }), fc.nat(), seedArb, (shape, sizes, ax, seed) => {
        const rng = new Rng(seed);
        const axis = ax % shape.length;
        const parts = sizes.map((d) => f64(shape.map((s, i) => (i === axis ? d : s)), rng));
        const fn = (...xs: Tensor[]) => {
          const cat = F.concat(xs.map((x, i) => F.mul(x, i + 1)), axis);
          const pieces = F.split(cat, 2, axis);
          return F.concat(pieces.map((p) => F.tanh(p)).reverse(), axis);
        };
        assertGradcheck(fn, parts, { seed });
      }),
      runs(20),
    );
  });
});

function shapeAfter(shape: readonly number[], axis: number, size: number): number[] {
  return shape.map((d, i) => (i === axis ? size : d));
}

describe('gradcheck: indexing ops', () => {
  it('embedding', () => {
    fc.assert(
      fc.property(dims3(), seedArb, ([V, C, n], seed) => {
        const rng = new Rng(seed);
        const ids = Array.from({ length: 2 * n }, () => rng.int(V)); // repeats exercise the scatter-add
        assertGradcheck((w) => F.embedding(w, ids, [2, n]), [f64([V, C], rng)], { seed });
      }),
      runs(25),
    );
  });

  it('gather along a random axis', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), fc.nat(), fc.integer({ min: 1, max: 4 }), seedArb, (shape, ax, k, seed) => {
        const rng = new Rng(seed);
        const axis = ax % shape.length;
        const ishape = shape.map((d, i) => (i === axis ? k : d));
        const index = Array.from({ length: ishape.reduce((a, b) => a * b, 1) }, () => rng.int(shape[axis]));
        assertGradcheck((x) => F.gather(x, axis, index, ishape), [f64(shape, rng)], { seed });
      }),
      runs(25),
    );
  });

  it('where and maskedFill with broadcasting', () => {
    fc.assert(
      fc.property(broadcastPairArb, seedArb, ([sa, sb], seed) => {
        const rng = new Rng(seed);
        const cond = f64(sb, rng);
        const fn = (a: Tensor, b: Tensor) => F.add(F.where(cond, a, b), F.maskedFill(a, cond, -3));
        assertGradcheck(fn, [f64(sa, rng), f64(sb, rng)], { seed });
      }),
      runs(25),
    );
  });

  it('dropout (fixed seed, so every evaluation draws the same mask)', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), seedArb, (shape, seed) => {
        const fn = (x: Tensor) => F.dropout(F.tanh(x), 0.4, new Rng(seed));
        assertGradcheck(fn, [f64(shape, new Rng(seed + 1))], { seed });
      }),
      runs(20),
    );
  });
});
