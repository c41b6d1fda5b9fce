// `tinyllm datasets generate --out <dir>`: writes the built-in sensing datasets (gesture, robot
// localization, unlabelled sensor logs) and the shipped English text, deterministically from --seed.
import * as path from 'node:path';
import { parseCommand, type OptionSpecs } from '../args.js';
import { quote, UserError } from '../../util/errors.js';
import { DATASETS_MANIFEST, generateDatasets } from '../../data/generate/index.js';
import { checkOutDir } from '../../util/outdir.js';

export const summary = 'generate the built-in sensing datasets (gesture, robot localization, sensor logs) offline';

const options = {
  out: { type: 'string', short: 'o', help: 'output directory', default: 'runs/datasets' },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'random seed (same seed → identical files)', default: 1337 },
  scale: { type: 'number', min: 0.001, max: 1000, help: 'size multiplier (1 = 600/150/150 samples per task, 20 000 log rows per stream)', default: 1 },
  force: { type: 'boolean', help: 'replace data sets already generated in --out', default: false },
} satisfies OptionSpecs;

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('datasets', argv, options, { usage: 'generate [--out <dir>] [--seed <n>] [--scale <x>] [--force]', summary });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals[0] !== 'generate' || positionals.length !== 1) {
    throw new UserError(`expected 'generate' (tinyllm datasets generate --out <dir>), got ${quote(positionals.join(' '))}`);
  }
  checkOutDir(o.out, { markers: [DATASETS_MANIFEST, 'gesture', 'robot', 'sensor-logs', 'text'], force: o.force });
  const t0 = performance.now();
  const s = generateDatasets({ out: o.out, seed: o.seed, scale: o.scale });
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  const task = (name: string, t: typeof s.gesture) =>
    `  ${name.padEnd(12)} ${t.samples.train}/${t.samples.val}/${t.samples.test} samples (train/val/test) × ${t.stepsPerSample} rows, classes: ${t.labels.join(', ')}`;
  console.log(`wrote ${path.resolve(o.out)} in ${secs}s (seed ${s.seed}):`);
  console.log(task('gesture/', s.gesture));
  console.log(task('robot/', s.robot));
  console.log(`  ${'sensor-logs/'.padEnd(12)} ${s.sensorLogs.files.length} unlabelled streams × ${s.sensorLogs.rows} rows`);
  console.log(`  ${'text/'.padEnd(12)} ${s.text.files.join(', ')} (public-domain English, documents separated by '---' lines)`);
}
