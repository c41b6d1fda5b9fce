// evaluate() on its own: numeric answers get MAE/RMSE beside the training-mean and k-NN baselines, the task
// kind is detected from the training answers, greedy answers read off the ranking equal generation's, and a stop
// request reports on the rows done.
import { describe, expect, it, vi } from 'vitest';
import { detectKind, evaluate } from '../../src/eval/evaluate.js';
import { sharedDecoder } from '../../src/models/gpt2/decode.js';
import type { TaskExample } from '../../src/task/read.js';
import { decidingLengths, labelCandidates } from '../../src/task/encode.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { LABELS, memorise, tinyRows, tinyTokenizer } from './helpers.js';

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

  it('reads greedy answers off the ranking when greedy decoding follows a candidate, as generation writes them', () => {
    const fluent = memorise(tok, rows);
    const feed = vi.spyOn(sharedDecoder(fluent), 'feed');
    const both = evaluate(fluent, tok, rows, rows, opts);
    // the model memorised the rows: its greedy answers are the labels, read from ranking's logits (nothing fed)
    expect(both.strict?.accuracy).toBe(1);
    expect(feed).not.toHaveBeenCalled();
    feed.mockRestore();
    const generated = evaluate(fluent, tok, rows, rows, { ...opts, rank: false });
    expect(both.results.map((r) => r.generated)).toEqual(generated.results.map((r) => r.generated));
    // a model that has not: the rows it does not follow a candidate on are generated, as without ranking
    const partly = evaluate(model, tok, rows, rows, opts);
    expect(partly.results.map((r) => r.generated)).toEqual(evaluate(model, tok, rows, rows, { ...opts, rank: false }).results.map((r) => r.generated));
  });

  it("ranks by, and reports, the log-likelihood of each label's deciding tokens (the label and the token after it)", () => {
    const fluent = memorise(tok, rows);
    const dec = sharedDecoder(fluent);
    const score = dec.scoreBranches.bind(dec);
    const want = decidingLengths(tok, LABELS, labelCandidates(tok, LABELS, opts));
    const plain = evaluate(fluent, tok, rows, rows, { ...opts, generate: false });
    expect(plain.ranking?.accuracy).toBe(1);
    // on each row the model doubts the rest of the end marker after the true label: its whole answer 50 nats lower,
    // its deciding tokens as they were
    let row = 0;
    const leadingSeen: (readonly number[] | undefined)[] = [];
    const spy = vi.spyOn(dec, 'scoreBranches').mockImplementation((first, branches, vocab, leading) => {
      leadingSeen.push(leading);
      const r = score(first, branches, vocab, leading);
      r.scores[LABELS.indexOf(rows[row++].output)] -= 50;
      return r;
    });
    const doubted = evaluate(fluent, tok, rows, rows, { ...opts, generate: false });
    spy.mockRestore();
    expect(leadingSeen).toEqual(rows.map(() => want));
    expect(doubted.ranking?.accuracy).toBe(1);
    expect(doubted.results.map((r) => r.logLikelihood)).toEqual(plain.results.map((r) => r.logLikelihood));
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
