// Classification and regression metrics for `tinyllm eval`: accuracy, per-class precision/recall/F1 and the
// confusion matrix (as scikit-learn's classification_report / confusion_matrix define them, with 0 where a
// ratio has no denominator), and MAE/RMSE for numeric answers. Predictions outside the label set (or none at
// all) count as wrong and get their own confusion column.

export interface ClassScores {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** Rows whose true label this is. */
  support: number;
}

export interface ClassificationMetrics {
  n: number;
  correct: number;
  accuracy: number;
  /** Unweighted means over the label set. */
  macro: { precision: number; recall: number; f1: number };
  perClass: ClassScores[];
  /** Row = true label, column = predicted label, both in `labels` order; the last column counts other/no answers. */
  confusion: number[][];
  labels: string[];
  /** Predictions that were not a label of the set (including no answer). */
  other: number;
}

/** Scores predictions (null = no readable answer) against true labels over a closed label set. */
export function classificationMetrics(truth: readonly string[], pred: readonly (string | null)[], labels: readonly string[]): ClassificationMetrics {
  if (truth.length !== pred.length) throw new Error(`classificationMetrics: ${truth.length} labels but ${pred.length} predictions`);
  const index = new Map(labels.map((l, i) => [l, i]));
  const K = labels.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K + 1).fill(0));
  let correct = 0;
  let other = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = index.get(truth[i]);
    if (t === undefined) throw new Error(`classificationMetrics: true label '${truth[i]}' of row ${i + 1} is not in the label set`);
    const p = pred[i] === null ? undefined : index.get(pred[i] as string);
    if (p === undefined) other++;
    confusion[t][p ?? K]++;
    if (p === t) correct++;
  }
  const ratio = (a: number, b: number) => (b > 0 ? a / b : 0);
  const perClass = labels.map((label, c) => {
    const tp = confusion[c][c];
    const support = confusion[c].reduce((s, x) => s + x, 0);
    const predicted = confusion.reduce((s, row) => s + row[c], 0);
    const precision = ratio(tp, predicted);
    const recall = ratio(tp, support);
    return { label, precision, recall, f1: ratio(2 * precision * recall, precision + recall), support };
  });
  const mean = (f: (s: ClassScores) => number) => ratio(perClass.reduce((s, c) => s + f(c), 0), K);
  return {
    n: truth.length,
    correct,
    accuracy: ratio(correct, truth.length),
    macro: { precision: mean((c) => c.precision), recall: mean((c) => c.recall), f1: mean((c) => c.f1) },
    perClass,
    confusion,
    labels: [...labels],
    other,
  };
}

export interface RegressionMetrics {
  /** Rows with a readable numeric prediction (the errors are over these). */
  n: number;
  /** Rows without one. */
  unreadable: number;
  mae: number;
  rmse: number;
}

/** Mean absolute and root-mean-square error over the rows with a prediction (null = unreadable). */
export function regressionMetrics(truth: readonly number[], pred: readonly (number | null)[]): RegressionMetrics {
  if (truth.length !== pred.length) throw new Error(`regressionMetrics: ${truth.length} values but ${pred.length} predictions`);
  let n = 0;
  let abs = 0;
  let sq = 0;
  for (let i = 0; i < truth.length; i++) {
    const p = pred[i];
    if (p === null || !Number.isFinite(p)) continue;
    const e = p - truth[i];
    abs += Math.abs(e);
    sq += e * e;
    n++;
  }
  return { n, unreadable: truth.length - n, mae: n ? abs / n : NaN, rmse: n ? Math.sqrt(sq / n) : NaN };
}
