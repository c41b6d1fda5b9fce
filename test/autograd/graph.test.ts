// The autograd engine itself: the checker catches a wrong backward, deep graphs need no recursion,
// gradients accumulate and meet correctly, noGrad/detach/requiresGrad behave, shape errors are clear.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../../src/util/rng.js';
import { Tensor, map, ones, tensor, zeros, ShapeError } from '../../src/tensor/index.js';
import * as F from '../../src/autograd/index.js';
import { gradcheck, noGrad, record } from '../../src/autograd/index.js';
import { f64, runs, seedArb, shapeArb } from './arbitraries.js';

/** x³ with a deliberately wrong backward (3x instead of 3x²), or the right one. */
function cube(x: Tensor, wrong: boolean): Tensor {
  const out = map(x, (v) => v * v * v);
  return record('cube', out, [x], (g) => [F.mul(g, F.mul(3, wrong ? x : F.mul(x, x)))]);
}

describe('gradcheck catches mistakes', () => {
  it('rejects a deliberately wrong backward and accepts the right one', () => {
    fc.assert(
      fc.property(shapeArb(1, 3), seedArb, (shape, seed) => {
        const x = F.add(f64(shape, new Rng(seed)), 2); // away from x = 0 and x = 1, where 3x = 3x²
        expect(gradcheck((t) => cube(t, false), [x], { seed }).ok).toBe(true);
        const bad = gradcheck((t) => cube(t, true), [x], { seed });
        expect(bad.ok).toBe(false);
        expect(bad.message).toMatch(/FAILED.*analytic/);
      }),
      runs(20),
    );
  });

  it('rejects a backward that drops the broadcast reduction of one input', () => {
    const a = f64([3, 2], new Rng(1));
    const b = f64([2], new Rng(2));
    // claims d(a·b)/db = g·a summed over only the first row
    const wrongMul = (x: Tensor, y: Tensor) =>
      record('wrongMul', map(F.mul(x, y), (v) => v), [x, y], (g) => [F.mul(g, y), F.slice(F.mul(g, x), 0, 0, 1)]);
    expect(gradcheck(wrongMul, [a, b]).ok).toBe(false);
  });
});

describe('backward', () => {
  it('handles a 100k-op deep graph without recursion', () => {
    const x = tensor([1.5], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 100_000; i++) y = F.mul(y, 1.00001);
    y.backward(ones([1]));
    expect(x.grad!.item()).toBeCloseTo(Math.pow(1.00001, 100_000), 2);
  });

  it('sums gradients where paths meet (diamond) and accumulates across backward calls', () => {
    const x = tensor([2, 3], { requiresGrad: true, dtype: 'float64' });
    const f = () => F.sum(F.add(F.mul(x, x), F.exp(x))); // d/dx = 2x + eˣ
    f().backward();
    expect(x.grad!.toArray()).toEqual([4 + Math.exp(2), 6 + Math.exp(3)]);
    f().backward();
    expect(x.grad!.toArray()).toEqual([2 * (4 + Math.exp(2)), 2 * (6 + Math.exp(3))]);
  });

  it('leaves the upstream gradient untouched when it flows to several inputs', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const g = tensor([5, 7]);
    F.add(a, a).backward(g);
    expect(a.grad!.toArray()).toEqual([10, 14]);
    expect(g.toArray()).toEqual([5, 7]);
  });

  it('needs a scalar root or an upstream gradient of the root shape', () => {
    const a = zeros([2, 2], { requiresGrad: true });
    expect(() => F.mul(a, 2).backward()).toThrow(/not a scalar/);
    expect(() => F.mul(a, 2).backward(zeros([3]))).toThrow(/\(3\).*\(2,2\)/);
  });
});

describe('noGrad, detach, requiresGrad', () => {
  it('noGrad records nothing and restores the mode even after an exception', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const b = noGrad(() => F.mul(a, 3));
    expect(b.requiresGrad).toBe(false);
    expect(b.node).toBeNull();
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(F.mul(a, 3).requiresGrad).toBe(true);
  });

  it('detach shares storage but stops gradients', () => {
    const a = tensor([1, 2], { requiresGrad: true });
    const d = a.detach();
    expect(d.data).toBe(a.data);
    const loss = F.sum(F.mul(F.mul(a, d), 1)); // gradient only through the first factor
    loss.backward();
    expect(a.grad!.toArray()).toEqual([1, 2]);
  });

  it('ops on tensors without requiresGrad build no graph; backward on them explains why it fails', () => {
    const c = F.add(tensor([1]), tensor([2]));
    expect(c.node).toBeNull();
    expect(() => c.backward()).toThrow(/does not require grad/);
  });
});

describe('shape errors name the op and both shapes', () => {
  it('broadcasting, matmul, reshape, concat', () => {
    const err = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        expect(e).toBeInstanceOf(ShapeError);
        return (e as Error).message;
      }
      throw new Error('expected a ShapeError');
    };
    expect(err(() => F.add(zeros([2, 3]), zeros([4, 3])))).toMatch(/^add: shapes \(2,3\) and \(4,3\) cannot be broadcast/);
    expect(err(() => F.matmul(zeros([2, 3]), zeros([4, 5])))).toMatch(/^matmul: inner sizes differ, a \(2,3\) vs b \(4,5\)/);
    expect(err(() => F.reshape(zeros([2, 3]), [4, 2]))).toMatch(/^reshape: cannot reshape \(2,3\).*\(4,2\)/);
    expect(err(() => F.concat([zeros([2, 3]), zeros([2, 4])], 0))).toMatch(/^concat: shapes \(2,3\), \(2,4\)/);
    expect(err(() => F.layerNorm(zeros([2, 3]), zeros([4]), zeros([4])))).toMatch(/^layerNorm: x \(2,3\).*\(4\)/);
    expect(err(() => F.embedding(zeros([3, 2]), [0, 5]))).toMatch(/^embedding: index 5 at position 1 is out of range \[0, 3\)/);
  });
});
