// A whole evaluation of a model on a task's test rows, as `tinyllm eval` runs it: greedy generation read two
// ways (strict first line, TinyLLM's exactly-once rule) and ranking of the closed label set by likelihood,
// sharing one prefill per row, and the prefix rows share (the instruction) across rows. When every token of a
// candidate answer was the most likely one, greedy generation would write it: ranking's logits give the greedy
// answer and nothing is generated; otherwise greedy generation runs from the cached prompt. Numeric answers get
// MAE/RMSE. The baselines are fitted on the training rows and scored on the same test rows, so
// every accuracy is reported beside them.
import { sharedDecoder } from '../models/gpt2/decode.js';
import { CacheDecoder } from '../models/gpt2/block-decode.js';
import type { TextCodec } from '../models/gpt2/generate.js';
import type { GPT2 } from '../models/gpt2/model.js';
import { decodeTextFromIds, stoppedText } from '../models/gpt2/textgen.js';
import { decidingLengths, fitPrompt, labelCandidates, type PromptOptions } from '../task/encode.js';
import { labelSet, type TaskExample } from '../task/read.js';
import { hasSeries, SERIES_WORDS } from '../task/series.js';
import { inputAsWritten, renderAnswer } from '../task/template.js';
import { ragQueryPrompt, storeLeaks, type RagQuery } from '../rag/query.js';
import { keyText } from '../rag/retrieve.js';
import { UserError } from '../util/errors.js';
import { knnClassify, knnRegress, majorityClass, nearestCentroid } from './baselines.js';
import { featurize, fitFeatures } from './features.js';
import { firstLine, readStrict, tinyllmCorrect } from './match.js';
import { classificationMetrics, regressionMetrics, type ClassificationMetrics, type RegressionMetrics } from './metrics.js';
import { parseNumbers, parseNumericAnswer } from './numbers.js';
import { argmaxScore, scoreCandidates, type ScoringDecoder } from './score.js';
import { augmentedPrompts, meanCandidateProbabilities, type TestTimeAugmentation } from './tta.js';
import { movesSeries } from '../task/augment.js';

export type TaskKind = 'classify' | 'numeric';

export interface EvalOptions extends PromptOptions {
  /** Closed label set for ranking and the metrics (default: the distinct training outputs). */
  labels?: string[];
  /** Where `labels` came from, for the report (default 'given'). */
  labelsFrom?: string;
  /** 'auto' (default): numeric when every training output is one number and there are > 20 distinct values or decimals. */
  kind?: TaskKind | 'auto';
  /** Neighbours of the k-NN baseline (default 5). */
  k?: number;
  /** Tokens generated at most per row (default: the longest training answer + 4). */
  maxTokens?: number;
  /** Run greedy generation (default true) and ranking (default true; classification only). */
  generate?: boolean;
  rank?: boolean;
  /** Retrieval-augmented prompts: the k nearest stored examples before each query (see src/rag). */
  rag?: RagQuery;
  /** Ranking over the prompt and augmented copies of it (eval/tta.ts); greedy generation reads the prompt alone. */
  tta?: TestTimeAugmentation;
  /** Called after each row. */
  onRow?: (done: number) => void;
  /** Checked after each row: true stops early and reports on the rows done. */
  shouldStop?: () => boolean;
}

/** What retrieval did over the evaluated rows. */
export interface RagReport {
  k: number;
  key: string;
  storeRows: number;
  /** Examples put before the queries in total, shortened ones, and retrieved ones left out for room. */
  used: number;
  shortened: number;
  dropped: number;
  /** Evaluated rows that are also in the store, and whether those store rows were left out of their retrieval. */
  leakedRows: number;
  leaksExcluded: boolean;
}

export interface RowResult {
  where: string;
  truth: string;
  /** Greedy response (cut at the end marker). */
  generated?: string;
  /** The label ranked first and the log-likelihood it was ranked by: of its deciding tokens, the label and the token after it (task/encode.ts decidingLengths; with test-time augmentation: its mean over the prompts). */
  ranked?: string;
  logLikelihood?: number;
}

export interface BaselineResult {
  name: string;
  classification?: ClassificationMetrics;
  regression?: RegressionMetrics;
}

export interface EvalReport {
  kind: TaskKind;
  /** Test rows evaluated (fewer than testRows when interrupted). */
  rows: number;
  testRows: number;
  trainRows: number;
  labels: string[];
  /** 'training outputs', or where the given labels came from. */
  labelSource: string;
  ranking?: ClassificationMetrics;
  strict?: ClassificationMetrics;
  tinyllmRule?: { correct: number; accuracy: number };
  numeric?: RegressionMetrics;
  baselines: BaselineResult[];
  /** The baselines' numeric features: numbers per row, and rows with another count (padded or cut). */
  features: { dim: number; constant: number; trainMismatched: number; testMismatched: number; rescaled: boolean };
  /** Rows whose input was cut to fit the context. */
  cutRows: number;
  rag?: RagReport;
  /** Test-time augmentation of the ranking: prompts per row and the augmentation (jitter/shift 0 and gain 1 = off). */
  tta?: { copies: number; jitter: number; shift: number; gain: number };
  seconds: number;
  interrupted: boolean;
  results: RowResult[];
}

/** Whether the answers are numbers to be scored by error rather than labels. */
export function detectKind(train: readonly Pick<TaskExample, 'output'>[]): TaskKind {
  const values = train.map((e) => parseNumericAnswer(e.output));
  if (values.some((v) => v === null)) return 'classify';
  const distinct = new Set(values);
  return distinct.size > 20 || values.some((v) => !Number.isInteger(v)) ? 'numeric' : 'classify';
}

/** detectKind on the training rows, or on a given label set when there are none. */
export function taskKind(train: readonly TaskExample[], labels?: readonly string[]): TaskKind {
  return detectKind(train.length ? train : (labels ?? []).map((output) => ({ output })));
}

/** `model`: the training model (its shared decoder is used) or any KV-cache decoder, e.g. the int8 runtime's. */
export function evaluate(model: GPT2 | ScoringDecoder, codec: TextCodec, test: readonly TaskExample[], train: readonly TaskExample[], opts: EvalOptions): EvalReport {
  // without training rows (a given label set only) there are no baselines: for comparing two models on the same rows
  if (train.length === 0 && !opts.labels) throw new UserError('evaluation needs the training rows for its baselines (no accuracy is reported without one)');
  const t0 = performance.now();
  const kind = opts.kind === undefined || opts.kind === 'auto' ? taskKind(train, opts.labels) : opts.kind;
  const labels = opts.labels ?? labelSet(train);
  if (kind === 'classify') {
    const stray = test.find((e) => !labels.includes(e.output));
    if (stray) throw new UserError(`${stray.where}: label '${stray.output}' is not in the label set (${labels.join(', ')}); add it with --labels`);
  }
  const numericTruth = (e: TaskExample) => {
    const v = parseNumericAnswer(e.output);
    if (v === null) throw new UserError(`${e.where}: answer '${e.output}' is not a number, but the task is numeric (use --task classify)`);
    return v;
  };
  const doRank = kind === 'classify' && (opts.rank ?? true);
  const doGenerate = opts.generate ?? true;
  if (!doRank && !doGenerate) throw new UserError('nothing to evaluate: ranking and generation are both off (ranking needs a classification task)');
  const candidates = doRank ? labelCandidates(codec, labels, opts) : [];
  const deciding = decidingLengths(codec, labels, candidates, opts.allowSpecial);
  const answerTokens = (e: TaskExample) => codec.encode(renderAnswer(opts.template, e.output), { allowSpecial: opts.allowSpecial ?? false }).length;
  const longest = Math.max(train.reduce((m, e) => Math.max(m, answerTokens(e)), 0), ...candidates.map((c) => c.length));
  const maxTokens = opts.maxTokens ?? longest + 4;
  const reserve = longest; // the prompt is cut as fine-tuning cut it for the longest answer
  const stopStrings = opts.template.end ? [opts.template.end] : []; // the response ends at the end marker
  const dec = model instanceof CacheDecoder ? (model as ScoringDecoder) : sharedDecoder(model as GPT2);
  dec.reset(); // rows share the cached prefix from here on
  const vocab = Math.min(codec.vocabSize ?? Infinity, dec.config.vocabSize); // what generation samples from

  const results: RowResult[] = [];
  let cutRows = 0;
  let interrupted = false;
  const rag = opts.rag;
  if (rag && !rag.retriever.store.labelled) throw new UserError(`the store ${rag.retriever.store.source} holds unlabelled passages; evaluation needs a store built from a task file (labelled examples)`);
  const tta = opts.tta && opts.tta.copies > 1 ? opts.tta : undefined;
  if (tta && rag) throw new UserError('test-time augmentation and retrieval do not go together (the retrieved examples would stay unaugmented); use one');
  if (tta && !doRank) throw new UserError('test-time augmentation applies to ranking, which this evaluation does not run (it needs a classification task and --method rank or all)');
  if (tta && tta.aug.jitter <= 0 && !movesSeries(tta.aug)) throw new UserError('test-time augmentation needs a jitter, a shift or a gain to draw copies with');
  if (tta && tta.aug.jitter <= 0 && !test.some((e) => hasSeries(e.input))) throw new UserError(`test-time augmentation with a shift or gain alone: no test input holds a series to change (${SERIES_WORDS}), so every copy would be the prompt itself; add a jitter or leave it out`);
  const ragReport: RagReport | undefined = rag && { k: rag.k, key: rag.retriever.store.key.kind, storeRows: rag.retriever.store.rows.length, used: 0, shortened: 0, dropped: 0, leakedRows: test.filter((ex) => storeLeaks(rag.retriever.store, ex).size > 0).length, leaksExcluded: !rag.keepLeaks };
  for (const ex of test) {
    let fitted;
    if (rag && ragReport) {
      const p = (fitted = ragQueryPrompt(codec, rag, ex, reserve, opts, ex.where));
      [ragReport.used, ragReport.shortened, ragReport.dropped] = [ragReport.used + p.used, ragReport.shortened + p.shortened, ragReport.dropped + p.dropped];
    } else fitted = fitPrompt(codec, ex, reserve, opts, ex.where);
    if (fitted.inputKept < fitted.inputChars) cutRows++;
    const r: RowResult = { where: ex.where, truth: ex.output };
    if (doRank) {
      const { deciding: scores, greedy } = scoreCandidates(dec, fitted.ids, candidates, { reuse: true, vocab, deciding });
      if (tta) {
        const all = [scores, ...augmentedPrompts(codec, ex, fitted, reserve, opts, tta).map((p) => scoreCandidates(dec, p, candidates, { reuse: true, deciding }).deciding)];
        const best = argmaxScore(meanCandidateProbabilities(all));
        r.ranked = labels[best];
        r.logLikelihood = all.reduce((m, s) => m + s[best], 0) / all.length;
      } else {
        const best = argmaxScore(scores);
        r.ranked = labels[best];
        r.logLikelihood = scores[best];
      }
      // greedy decoding picks each token of a candidate that was the most likely at every step
      const followed = greedy.indexOf(true);
      const stopped = doGenerate && followed >= 0 ? stoppedText(codec, candidates[followed], stopStrings) : null;
      if (stopped && stopped.tokens <= maxTokens) r.generated = stopped.text.trim();
    }
    if (doGenerate && r.generated === undefined) {
      const g = decodeTextFromIds(dec, codec, fitted.ids, { temperature: 0, maxTokens, stopStrings, reuse: true });
      r.generated = g.text.trim();
    }
    results.push(r);
    opts.onRow?.(results.length);
    if (opts.shouldStop?.() && results.length < test.length) {
      interrupted = true;
      break;
    }
  }

  const done = test.slice(0, results.length);
  const report: EvalReport = {
    kind,
    rows: done.length,
    testRows: test.length,
    trainRows: train.length,
    labels: kind === 'classify' ? labels : [],
    labelSource: opts.labels ? opts.labelsFrom ?? 'given' : 'training outputs',
    baselines: [],
    features: { dim: 0, constant: 0, trainMismatched: 0, testMismatched: 0, rescaled: false },
    cutRows,
    rag: ragReport,
    tta: tta && { copies: tta.copies, jitter: tta.aug.jitter, shift: tta.aug.shift, gain: tta.aug.gain },
    seconds: 0,
    interrupted,
    results,
  };
  const truth = done.map((e) => e.output);
  if (kind === 'classify') {
    if (doRank) report.ranking = classificationMetrics(truth, results.map((r) => r.ranked ?? null), labels);
    if (doGenerate) {
      report.strict = classificationMetrics(truth, results.map((r) => readStrict(r.generated ?? '', labels)), labels);
      const correct = results.filter((r, i) => tinyllmCorrect(r.generated ?? '', truth[i], labels)).length;
      report.tinyllmRule = { correct, accuracy: done.length ? correct / done.length : NaN };
    }
  } else {
    report.numeric = regressionMetrics(done.map(numericTruth), results.map((r) => parseNumbers(firstLine(r.generated ?? ''))[0] ?? null));
  }

  report.seconds = (performance.now() - t0) / 1000;
  if (train.length === 0) return report;
  // baselines on the same rows, from the numbers in each row's instruction and input as the prompt writes them
  const text = (e: TaskExample) => keyText({ instruction: e.instruction, input: inputAsWritten(opts.template, e.input) });
  const space = fitFeatures(train.map(text));
  const trainX = featurize(space, train.map(text));
  const testX = featurize(space, done.map(text));
  const constant = space.std.filter((s) => s === 0).length;
  report.features = { dim: space.dim, constant, trainMismatched: space.trainMismatched, testMismatched: testX.mismatched, rescaled: opts.template.series === 'rescale' };
  const k = Math.min(opts.k ?? 5, train.length);
  if (kind === 'classify') {
    const trainY = train.map((e) => e.output);
    const cls = (name: string, pred: string[]): BaselineResult => ({ name, classification: classificationMetrics(truth, pred, labels) });
    const majority = majorityClass(trainY);
    report.baselines.push(cls('majority class', truth.map(() => majority)));
    if (space.dim > 0) {
      report.baselines.push(cls('nearest centroid', nearestCentroid(trainX, trainY, testX)));
      report.baselines.push(cls(`${k}-NN`, knnClassify(trainX, trainY, testX, k)));
    }
  } else {
    const trainV = train.map(numericTruth);
    const testV = done.map(numericTruth);
    const mean = trainV.reduce((s, v) => s + v, 0) / trainV.length;
    report.baselines.push({ name: 'training mean', regression: regressionMetrics(testV, testV.map(() => mean)) });
    if (space.dim > 0) report.baselines.push({ name: `${k}-NN`, regression: regressionMetrics(testV, knnRegress(trainX, trainV, testX, k)) });
  }
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
