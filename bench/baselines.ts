// How hard the built-in tasks are: the baselines `tinyllm eval` prints (majority class, nearest centroid, k-NN
// over the standardised numbers of the input), with more and more training rows from the same generator, on one
// fixed test split. What k-NN reaches with many rows is a floor under what the task allows (a lower bound of its
// Bayes accuracy), so a model's accuracy at the demo's 600 rows can be read against both.
// Run: npx tsx bench/baselines.ts [--tasks gesture,robot] [--rows 600,3000,12000] [--test 2000] [--seed 7]
// Last stdout line: one JSON summary object.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateDatasets } from '../src/data/generate/index.js';
import { knnClassify, majorityClass, nearestCentroid } from '../src/eval/baselines.js';
import { featurize, fitFeatures } from '../src/eval/features.js';
import { readTaskFile } from '../src/task/read.js';
import { arg } from './lib/args.js';

const tasks = (arg('tasks') ?? 'gesture,robot').split(',');
const sizes = (arg('rows') ?? '600,3000,12000').split(',').map(Number);
const nTest = Number(arg('test') ?? 2000);
const seed = Number(arg('seed') ?? 7);

// one generation large enough for the biggest training size and the test split (train:test is 600:150 per scale)
const scale = Math.max(Math.max(...sizes) / 600, nTest / 150);
const dir = fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-bench-baselines-'));
const t0 = performance.now();
generateDatasets({ out: dir, seed, scale });
console.log(`baselines bench: generated ${Math.round(600 * scale)} training rows per task (seed ${seed}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

interface Row { task: string; trainRows: number; testRows: number; majority: number; centroid: number; knn1: number; knn5: number }
const rows: Row[] = [];
try {
  for (const task of tasks) {
    const train = await readTaskFile(path.join(dir, task, 'train.jsonl'));
    const test = (await readTaskFile(path.join(dir, task, 'test.jsonl'))).slice(0, nTest);
    const truth = test.map((e) => e.output);
    const acc = (pred: readonly string[]) => pred.filter((p, i) => p === truth[i]).length / truth.length;
    for (const n of sizes) {
      const part = train.slice(0, n);
      const labels = part.map((e) => e.output);
      const space = fitFeatures(part.map((e) => e.input));
      const F = featurize(space, part.map((e) => e.input));
      const T = featurize(space, test.map((e) => e.input));
      const majority = majorityClass(labels);
      const row: Row = {
        task,
        trainRows: n,
        testRows: test.length,
        majority: acc(truth.map(() => majority)),
        centroid: acc(nearestCentroid(F, labels, T)),
        knn1: acc(knnClassify(F, labels, T, 1)),
        knn5: acc(knnClassify(F, labels, T, 5)),
      };
      rows.push(row);
      const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
      console.log(`${task.padEnd(8)} ${String(n).padStart(6)} train rows: majority ${pct(row.majority)}  centroid ${pct(row.centroid)}  1-NN ${pct(row.knn1)}  5-NN ${pct(row.knn5)}`);
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify({ bench: 'baselines', seed, rows }));
