// evaluate() on its own: numeric answers get MAE/RMSE beside the training-mean and k-NN baselines, the task
// kind is detected from the training answers, and a stop request reports on the rows done.
import { describe, expect, it } from 'vitest';
import { detectKind, evaluate } from '../../src/eval/evaluate.js';
import type { TaskExample } from '../../src/task/read.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { memorise, tinyRows, tinyTokenizer } from './helpers.js';

const numeric = (xs: number[][], ys: string[]): TaskExample[] => xs.map((x, i) => ({ instruction: '', input: `v: ${x.join(' ')}`, output: ys[i], where: `n.jsonl: row ${i + 1}` }));

describe('evaluate', () => {
  const rows = tinyRows(9, 1);
  const { tok } = tinyTokenizer(rows);
  const model = memorise(tok, rows, 60);
  const opts = { template: TINYLLM_TEMPLATE, contextLength: 64 };

  it('detects numeric answers: numbers with decimals or more than 20 values', () => {
    expect(detectKind(numeric([[1], [2]], ['1.5', '2']))).toBe('numeric');
    expect(detectKind(numeric([[1], [2]], ['1', '2']))).toBe('classify');
    expect(detectKind(numeric([[1], [2]], ['1.5', 'Tap']))).toBe('classify');
    const many = Array.from({ length: 21 }, (_, i) => [i]);
    expect(detectKind(numeric(many, many.map(([i]) => String(i))))).toBe('numeric');
  });

  it('scores numeric answers by MAE/RMSE beside the training mean and k-NN', () => {
    const train = numeric([[0], [1], [2], [10]], ['0.5', '1.5', '2.5', '10.5']); // mean 3.75
    const test = numeric([[1], [9]], ['1.5', '9.5']);
    const r = evaluate(model, tok, test, train, { ...opts, k: 1, maxTokens: 3 });
    expect(r.kind).toBe('numeric');
    expect(r.ranking).toBeUndefined();
    expect(r.numeric?.n ?? -1).toBeGreaterThanOrEqual(0);
    expect((r.numeric?.n ?? 0) + (r.numeric?.unreadable ?? 0)).toBe(2);
    const [mean, knn] = r.baselines;
    // training mean 3.75: errors 2.25 and 5.75
    expect(mean.name).toBe('training mean');
    expect(mean.regression?.mae).toBeCloseTo(4, 12);
    expect(mean.regression?.rmse).toBeCloseTo(Math.sqrt((2.25 ** 2 + 5.75 ** 2) / 2), 12);
    // 1-NN: 1 -> 1.5 (exact), 9 -> 10.5 (error 1)
    expect(knn.name).toBe('1-NN');
    expect(knn.regression?.mae).toBeCloseTo(0.5, 12);
  });

  it('stops when asked and reports on the rows done, baselines on the same rows', () => {
    let calls = 0;
    const r = evaluate(model, tok, rows, rows, { ...opts, shouldStop: () => ++calls >= 4 });
    expect(r.interrupted).toBe(true);
    expect([r.rows, r.testRows, r.results.length]).toEqual([4, 9, 4]);
    expect(r.baselines[0].classification?.n).toBe(4);
    expect(r.ranking?.n).toBe(4);
  });

  it('refuses test labels outside the label set, and evaluation without training rows', () => {
    expect(() => evaluate(model, tok, rows, [], opts)).toThrow(/training rows/);
    expect(() => evaluate(model, tok, rows, rows, { ...opts, labels: ['Tap', 'Hold'] })).toThrow(/task.jsonl: row 2: label 'Double tap' is not in the label set \(Tap, Hold\)/);
  });
});
