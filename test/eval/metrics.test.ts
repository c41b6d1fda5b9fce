// Eval metrics on hand-made cases whose values were worked out by hand, the two readings of a generated
// response, number parsing, and the baselines on a tiny hand-made set.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { knnClassify, knnRegress, majorityClass, nearestCentroid } from '../../src/eval/baselines.js';
import { featurize, fitFeatures } from '../../src/eval/features.js';
import { countLabel, firstLine, readStrict, tinyllmCorrect } from '../../src/eval/match.js';
import { classificationMetrics, regressionMetrics } from '../../src/eval/metrics.js';
import { parseNumbers, parseNumericAnswer } from '../../src/eval/numbers.js';

describe('classificationMetrics', () => {
  it('matches precision / recall / F1 / confusion computed by hand', () => {
    // truth a a a b b c ; pred a a b b - a
    const m = classificationMetrics(['a', 'a', 'a', 'b', 'b', 'c'], ['a', 'a', 'b', 'b', null, 'a'], ['a', 'b', 'c']);
    expect(m.confusion).toEqual([
      [2, 1, 0, 0],
      [0, 1, 0, 1],
      [1, 0, 0, 0],
    ]);
    expect(m.correct).toBe(3);
    expect(m.accuracy).toBe(0.5);
    expect(m.other).toBe(1);
    const [a, b, c] = m.perClass;
    // a: TP 2 of 3 predicted, 3 true -> P = R = F1 = 2/3
    expect([a.precision, a.recall, a.f1, a.support]).toEqual([2 / 3, 2 / 3, 2 / 3, 3]);
    // b: TP 1 of 2 predicted (one 'b' predicted for an 'a'), 2 true -> 1/2 each
    expect([b.precision, b.recall, b.f1, b.support]).toEqual([0.5, 0.5, 0.5, 2]);
    // c: never predicted, one true -> all 0 (no division by zero)
    expect([c.precision, c.recall, c.f1, c.support]).toEqual([0, 0, 0, 1]);
    expect(m.macro.precision).toBeCloseTo(7 / 18, 12);
    expect(m.macro.f1).toBeCloseTo(7 / 18, 12);
  });

  it('F1 is the harmonic mean when precision and recall differ', () => {
    // x: predicted 4 times, right twice (P 1/2); 2 true x, both found (R 1) -> F1 = 2/3
    const m = classificationMetrics(['x', 'x', 'y', 'y', 'y'], ['x', 'x', 'x', 'x', 'y'], ['x', 'y']);
    expect(m.perClass[0].f1).toBeCloseTo(2 / 3, 12);
    // y: predicted once, right (P 1); 3 true (R 1/3) -> F1 = 2·(1/3)/(4/3) = 1/2
    expect(m.perClass[1].f1).toBeCloseTo(0.5, 12);
    expect(() => classificationMetrics(['z'], ['x'], ['x'])).toThrow(/not in the label set/);
  });

  it('MAE and RMSE over readable predictions', () => {
    const r = regressionMetrics([1, 2, 3, 4], [2, 0, null, 4]);
    expect(r).toEqual({ n: 3, unreadable: 1, mae: 1, rmse: Math.sqrt(5 / 3) });
  });
});

describe('reading a response', () => {
  const labels = ['Tap', 'Double tap', 'Hold'];

  it('strict: the first line, trimmed, must be a label', () => {
    expect(firstLine('  Hold \r\nmore')).toBe('Hold');
    expect(readStrict('Hold\nTap', labels)).toBe('Hold');
    expect(readStrict('Hold on', labels)).toBeNull();
    expect(readStrict('\nHold', labels)).toBeNull();
  });

  it("TinyLLM's rule: the label exactly once; not twice, not inside a longer label", () => {
    expect(tinyllmCorrect('it is a Hold, I think', 'Hold', labels)).toBe(true);
    expect(tinyllmCorrect('Hold Hold', 'Hold', labels)).toBe(false); // twice
    expect(tinyllmCorrect('Double tap', 'Tap', ['Tap', 'Double Tap'])).toBe(false); // case-sensitive: no Tap at all
    expect(countLabel('Double tap', 'tap', ['tap', 'Double tap'])).toBe(0); // only inside the longer label
    expect(tinyllmCorrect('Double tap', 'Double tap', labels)).toBe(true);
    expect(countLabel('tap, Double tap', 'tap', ['tap', 'Double tap'])).toBe(1);
    expect(countLabel('1 10 1', '1', ['1', '10'])).toBe(2);
    expect(countLabel('aaaa', 'aa', ['aa'])).toBe(2); // non-overlapping
    // the strict reading and TinyLLM's can disagree
    expect(readStrict('The gesture: Hold', labels)).toBeNull();
    expect(tinyllmCorrect('The gesture: Hold', 'Hold', labels)).toBe(true);
  });
});

describe('numbers in text', () => {
  it('reads signs, decimals and exponents; skips names; a dash after a digit is a separator', () => {
    expect(parseNumbers('a=-3.5, b=+.25 c=1e-3 x1 ch_2 2024-01-02 6.02E23 -.5 12.')).toEqual([-3.5, 0.25, 0.001, 2024, 1, 2, 6.02e23, -0.5, 12]);
    expect(parseNumbers('[1013.2 38.0 22.51]\n[1,2,3]')).toEqual([1013.2, 38, 22.51, 1, 2, 3]);
    expect(parseNumbers('3-4 e5 -x')).toEqual([3, 4]);
    expect(parseNumericAnswer(' 12.5 ')).toBe(12.5);
    expect(parseNumericAnswer('12.5 bpm')).toBeNull();
    expect(parseNumericAnswer('Tap')).toBeNull();
  });
});

describe('baselines', () => {
  // 1-D: class A around 0..3, class B around 10..12; A is the majority
  const trainIn = ['v 0', 'v 1', 'v 2', 'v 3', 'v 10', 'v 11', 'v 12'];
  const trainY = ['A', 'A', 'A', 'A', 'B', 'B', 'B'];
  const space = fitFeatures(trainIn);
  const train = featurize(space, trainIn);

  it('majority, nearest centroid and k-NN give the hand-worked answers', () => {
    expect(space.dim).toBe(1);
    expect(majorityClass(trainY)).toBe('A');
    expect(majorityClass(['b', 'a', 'a', 'b'])).toBe('b'); // tie: first seen
    // centroids 1.5 (A) and 11 (B): 4 -> A, 7 -> B, 6 -> A
    const test = featurize(space, ['v 4', 'v 7', 'v 6']);
    expect(nearestCentroid(train, trainY, test)).toEqual(['A', 'B', 'A']);
    // k=3 at 7: 10 (d 3), then 3 and 11 (d 4, 3 first) -> B A B -> B; at 6: 3, 2, 10 -> A A B -> A
    expect(knnClassify(train, trainY, test, 3)).toEqual(['A', 'B', 'A']);
    // k=1 at 4: 3 -> A
    expect(knnClassify(train, trainY, test, 1)).toEqual(['A', 'B', 'A']);
    expect(knnRegress(train, [0, 1, 2, 3, 10, 11, 12], test, 3)).toEqual([2, 8, 5]);
  });

  it('rows with another count of numbers are padded with the train mean or cut, and counted', () => {
    const test = featurize(space, ['v 7 99', 'no numbers']);
    expect(test.mismatched).toBe(2);
    // 'v 7 99' reads as 7 -> B; no numbers = the train mean 39/7 ≈ 5.57: A's centroid (1.5) is nearer than B's (11)
    expect(nearestCentroid(train, trainY, test)).toEqual(['B', 'A']);
    const s2 = fitFeatures(['1 2', '3 4', '5', '6 7']);
    expect([s2.dim, s2.trainMismatched]).toEqual([2, 1]);
    expect(Array.from(s2.mean)).toEqual([(1 + 3 + 5 + 6) / 4, (2 + 4 + 7) / 3]);
  });
});

describe('k-NN against brute force', () => {
  it('votes of the k nearest (ties by index, then by the nearest class) match a full sort', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 }), fc.constantFrom('a', 'b', 'c')), { minLength: 1, maxLength: 25 }),
        fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.integer({ min: -5, max: 5 })), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 7 }),
        (dim, trainRows, testRows, k) => {
          const text = (xs: number[]) => xs.slice(0, dim).join(' ');
          const trainIn = trainRows.map(([x, y]) => text([x, y, x - y]));
          const labels = trainRows.map(([, , l]) => l);
          const space = fitFeatures(trainIn);
          const train = featurize(space, trainIn);
          const test = featurize(space, testRows.map(([x, y]) => text([x, y, x - y])));
          const kk = Math.min(k, train.n);
          const got = knnClassify(train, labels, test, kk);
          for (let i = 0; i < test.n; i++) {
            const d = space.dim;
            const dist = (j: number) => Array.from({ length: d }, (_, c) => (test.x[i * d + c] - train.x[j * d + c]) ** 2).reduce((s, v) => s + v, 0);
            const order = Array.from({ length: train.n }, (_, j) => j).sort((p, q) => dist(p) - dist(q) || p - q).slice(0, kk);
            const votes = new Map<string, number>();
            for (const j of order) votes.set(labels[j], (votes.get(labels[j]) ?? 0) + 1);
            const top = Math.max(...votes.values());
            expect(got[i]).toBe(labels[order.find((j) => votes.get(labels[j]) === top) as number]);
          }
        },
      ),
      { numRuns: 200, seed: 5 },
    );
  });
});
