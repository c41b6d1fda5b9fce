// The readable report of `tinyllm eval`: the model's accuracies with the baselines directly beneath them
// (never one without the other), per-class precision/recall/F1 and the confusion matrix of the model's main
// reading, or MAE/RMSE for numeric answers, plus notes on cut rows and the baselines' features.
import type { EvalReport } from './evaluate.js';
import type { ClassificationMetrics } from './metrics.js';

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(2)} %` : '—');
const num = (x: number, d = 4) => (Number.isFinite(x) ? x.toFixed(d) : '—');

function table(rows: string[][], align: ('l' | 'r')[]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (align[c] === 'l' ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

function perClass(name: string, m: ClassificationMetrics): string[] {
  const rows = [['label', 'precision', 'recall', 'F1', 'support'], ...m.perClass.map((c) => [c.label, num(c.precision), num(c.recall), num(c.f1), String(c.support)])];
  const confusion = [['true \\ predicted', ...m.labels, '(other)'], ...m.labels.map((l, i) => [l, ...m.confusion[i].map(String)])];
  return [
    '',
    `Per class (${name}):`,
    ...table(rows, ['l', 'r', 'r', 'r', 'r']),
    '',
    `Confusion matrix (${name}; rows = true label, columns = prediction, (other) = no label read):`,
    ...table(confusion, ['l', ...m.labels.map(() => 'r' as const), 'r']),
  ];
}

export function formatReport(r: EvalReport): string {
  const lines: string[] = [];
  const of = r.interrupted ? ` (interrupted: ${r.rows} of ${r.testRows} test rows)` : '';
  lines.push(`${r.rows} test rows${of}, ${r.trainRows} training rows for the baselines; ${r.seconds.toFixed(1)} s (${(r.rows / Math.max(r.seconds, 1e-9)).toFixed(2)} rows/s)`);
  if (r.kind === 'classify') {
    lines.push(`labels (${r.labelSource}): ${r.labels.join(', ')}`);
    lines.push('');
    const rows = [['', 'accuracy', 'macro-F1', 'correct']];
    const add = (name: string, m: ClassificationMetrics) => rows.push([name, pct(m.accuracy), num(m.macro.f1), `${m.correct}/${m.n}`]);
    if (r.ranking) add('model: ranking by likelihood', r.ranking);
    if (r.strict) add('model: greedy, strict first line', r.strict);
    if (r.tinyllmRule) rows.push(["model: greedy, TinyLLM's rule", pct(r.tinyllmRule.accuracy), '—', `${r.tinyllmRule.correct}/${r.rows}`]);
    for (const b of r.baselines) if (b.classification) add(`baseline: ${b.name}`, b.classification);
    lines.push(...table(rows, ['l', 'r', 'r', 'r']));
    const main = r.ranking ? ['ranking', r.ranking] : r.strict ? ['greedy, strict', r.strict] : null;
    if (main) lines.push(...perClass(main[0] as string, main[1] as ClassificationMetrics));
  } else {
    lines.push('numeric answers (the first number of the response)', '');
    const rows = [['', 'MAE', 'RMSE', 'rows with a number']];
    if (r.numeric) rows.push(['model: greedy', num(r.numeric.mae), num(r.numeric.rmse), `${r.numeric.n}/${r.rows}`]);
    for (const b of r.baselines) if (b.regression) rows.push([`baseline: ${b.name}`, num(b.regression.mae), num(b.regression.rmse), `${b.regression.n}/${r.rows}`]);
    lines.push(...table(rows, ['l', 'r', 'r', 'r']));
  }
  lines.push('');
  const f = r.features;
  if (f.dim === 0) lines.push('baselines: the inputs hold no numbers, so only the majority/mean baseline is shown');
  else {
    let note = `baselines: nearest centroid and k-NN over the ${f.dim} numbers of each row's input${f.rescaled ? ' as the prompt writes it (series rescaled to 0..99)' : ''}, standardised with the training rows`;
    if (f.constant > 0) note += ` (${f.constant} constant in training, left out)`;
    if (f.trainMismatched + f.testMismatched > 0) note += `; ${f.trainMismatched} training and ${f.testMismatched} test rows had another count of numbers (missing ones set to the training mean, extra ones ignored)`;
    lines.push(note);
  }
  if (r.rag) {
    const g = r.rag;
    lines.push(`retrieval: the ${g.k} nearest of ${g.storeRows} stored examples (${g.key} key) before each query; ${(g.used / Math.max(r.rows, 1)).toFixed(2)} per row on average, ${g.shortened} shortened and ${g.dropped} left out to fit the context`);
    if (g.leakedRows > 0) lines.push(`LEAK: ${g.leakedRows} of ${r.testRows} evaluated rows are also in the store; ${g.leaksExcluded ? 'their copies were left out of their own retrieval (--rag-keep-leaks keeps them)' : 'their copies were KEPT (--rag-keep-leaks): retrieval accuracy is inflated'}`);
  }
  if (r.tta) {
    const how = [r.tta.jitter > 0 ? `numbers jittered by up to ±${r.tta.jitter} in their last digit` : '', r.tta.shift > 0 ? `series shifted by up to ±${r.tta.shift} readings` : '', r.tta.gain > 1 ? `series scaled about their median by ×1/${r.tta.gain}..×${r.tta.gain}` : ''].filter((x) => x).join(', ');
    lines.push(`ranking: test-time augmentation, the label probabilities averaged over each row's prompt and ${r.tta.copies - 1} copies of it (${how}); greedy reads the prompt alone`);
  }
  if (r.cutRows > 0) lines.push(`${r.cutRows} rows had their input cut to fit the model's context (answers are never cut)`);
  return lines.join('\n');
}
