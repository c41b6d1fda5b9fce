// `tinyllm datasets generate`: writes the built-in sensing datasets, deterministically from a seed,
// so the default pipeline needs no download: gesture and robot-localization tasks (train/val/test as
// long-format CSV and as Alpaca {instruction, input, output} JSONL), an unlabelled sensor-log corpus for pre-training, and a
// copy of the shipped public-domain English text (the "web-like" source for sensor:web mixes).
// How the data is generated is documented in docs/datasets.md.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Rng } from '../../util/rng.js';
import { writeFileAtomic } from '../../util/fs.js';
import { renderValues, type Layout } from '../render.js';
import { csvField, writeFiles, type LineFileWriter } from './output.js';
import { GESTURE_COLUMNS, GESTURE_INSTRUCTION, GESTURE_LABELS, gestureSample, gestureStream, randomScene } from './gesture.js';
import { ROBOT_COLUMNS, ROBOT_INSTRUCTION, ROBOT_LABELS, randomContext, robotSample, robotStream } from './robot.js';

export * from './gesture.js';
export * from './robot.js';

export interface GenerateDatasetsOptions {
  out: string;
  seed?: number;
  /** Multiplies every size (default 1: 600/150/150 samples per task, 20 000 rows per log). */
  scale?: number;
}

export interface GeneratedTaskSummary {
  columns: readonly string[];
  labels: readonly string[];
  stepsPerSample: number;
  samples: Record<'train' | 'val' | 'test', number>;
  classCounts: Record<'train' | 'val' | 'test', Record<string, number>>;
  files: string[];
}

export interface GenerateDatasetsSummary {
  seed: number;
  scale: number;
  gesture: GeneratedTaskSummary;
  robot: GeneratedTaskSummary;
  sensorLogs: { files: string[]; rows: number };
  text: { files: string[] };
}

const SPLITS = ['train', 'val', 'test'] as const;

/** Where the shipped text lives: <package>/data/text, found from this file in src/ or dist/. */
export function shippedTextDir(): string {
  return fileURLToPath(new URL('../../../data/text/', import.meta.url));
}

interface TaskSpec {
  name: string;
  columns: readonly string[];
  decimals: readonly number[];
  labels: readonly string[];
  steps: number;
  instruction: string;
  layout: Layout;
  /** The rows of sample k of n (chronological over train, val, test) with the given label. */
  sample(rng: Rng, label: string, k: number, n: number): number[][];
}

function writeTask(rng: Rng, dir: string, spec: TaskSpec, sizes: Record<(typeof SPLITS)[number], number>): GeneratedTaskSummary {
  const total = sizes.train + sizes.val + sizes.test;
  const files = SPLITS.flatMap((s) => [path.join(dir, `${s}.csv`), path.join(dir, `${s}.jsonl`)]);
  const classCounts = { train: {}, val: {}, test: {} } as GeneratedTaskSummary['classCounts'];
  writeFiles(files, (w: LineFileWriter[]) => {
    let k = 0;
    SPLITS.forEach((split, si) => {
      const [csv, jsonl] = [w[2 * si], w[2 * si + 1]];
      csv.line(['sample', ...spec.columns, 'label'].join(','));
      const counts: Record<string, number> = Object.fromEntries(spec.labels.map((l) => [l, 0]));
      for (let i = 0; i < sizes[split]; i++, k++) {
        const label = spec.labels[rng.int(spec.labels.length)];
        counts[label]++;
        const values = spec.sample(rng, label, k, total).map((row) => row.map((x, c) => x.toFixed(spec.decimals[c])));
        const id = `${split}-${String(i).padStart(5, '0')}`;
        for (const row of values) csv.line([id, ...row, csvField(label)].join(','));
        const input = renderValues({ columns: spec.columns, values, labels: [] }, { layout: spec.layout });
        jsonl.line(JSON.stringify({ id, instruction: spec.instruction, input, output: label }));
      }
      classCounts[split] = counts;
    });
  });
  return { columns: spec.columns, labels: spec.labels, stepsPerSample: spec.steps, samples: { ...sizes }, classCounts, files: files.map((f) => path.relative(path.dirname(dir), f)) };
}

/** The summary file a generated datasets folder holds. */
export const DATASETS_MANIFEST = 'datasets.json';

/** Generates everything under `opts.out`; returns a summary (also written as datasets.json). */
export function generateDatasets(opts: GenerateDatasetsOptions): GenerateDatasetsSummary {
  const seed = opts.seed ?? 1337;
  const scale = opts.scale ?? 1;
  const n = (x: number) => Math.max(1, Math.round(x * scale));
  const sizes = { train: n(600), val: n(150), test: n(150) };
  const out = opts.out;

  const gesture = writeTask(new Rng(seed ^ 0x6e57), path.join(out, 'gesture'), {
    name: 'gesture',
    columns: GESTURE_COLUMNS,
    decimals: [0, 0, 0, 0],
    labels: GESTURE_LABELS,
    steps: 50,
    instruction: GESTURE_INSTRUCTION,
    layout: 'columns',
    sample: (rng, label) => gestureSample(rng, label as (typeof GESTURE_LABELS)[number], randomScene(rng)),
  }, sizes);

  const robot = writeTask(new Rng(seed ^ 0x4f0b), path.join(out, 'robot'), {
    name: 'robot',
    columns: ROBOT_COLUMNS,
    decimals: [1, 1, 2, 0, 0, 0, 1],
    labels: ROBOT_LABELS,
    steps: 10,
    instruction: ROBOT_INSTRUCTION,
    layout: 'rows',
    // Sensor drift grows over time: validation and test come after training, so they drift the most.
    sample: (rng, label, k, total) => robotSample(rng, label as (typeof ROBOT_LABELS)[number], randomContext(rng, (1.5 * k) / total)),
  }, sizes);

  const logRows = n(20000);
  const logDir = path.join(out, 'sensor-logs');
  const logFiles = [path.join(logDir, 'gesture_stream.csv'), path.join(logDir, 'robot_stream.csv')];
  writeFiles(logFiles, ([g, r]) => {
    g.line(GESTURE_COLUMNS.join(','));
    gestureStream(new Rng(seed ^ 0x1065), logRows, (row) => g.line(row.join(',')));
    r.line(ROBOT_COLUMNS.join(','));
    const dec = [1, 1, 2, 0, 0, 0, 1];
    robotStream(new Rng(seed ^ 0x2b07), logRows, (row) => r.line(row.map((x, c) => x.toFixed(dec[c])).join(',')));
  });

  const textFiles: string[] = [];
  const src = shippedTextDir();
  for (const name of fs.readdirSync(src).filter((f) => f.endsWith('.txt')).sort()) {
    const target = path.join(out, 'text', name);
    writeFileAtomic(target, fs.readFileSync(path.join(src, name)));
    textFiles.push(path.relative(out, target));
  }

  const summary: GenerateDatasetsSummary = {
    seed,
    scale,
    gesture,
    robot,
    sensorLogs: { files: logFiles.map((f) => path.relative(out, f)), rows: logRows },
    text: { files: textFiles },
  };
  writeFileAtomic(path.join(out, DATASETS_MANIFEST), JSON.stringify(summary, null, 2) + '\n');
  return summary;
}
