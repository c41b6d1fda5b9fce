// The built-in pre-training corpus from `tinyllm datasets generate` output, as the default pipeline
// uses it: 'sensing' = the unlabelled sensor logs in 16-row windows + the gesture and robot *training*
// samples as instruction text (validation and test files are left out, kept for fine-tuning and
// evaluation), with a hashed 10 % validation split; 'web' = the shipped English prose.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import { DATASETS_MANIFEST, GESTURE_INSTRUCTION, ROBOT_INSTRUCTION } from './generate/index.js';
import { checkDatasetFree, prepare, type Manifest } from './prepare.js';
import type { SourceSpec } from './sources.js';

export interface BuiltinCorpusOptions {
  /** A directory written by `tinyllm datasets generate`. */
  datasets: string;
  out: string;
  tokenizer: Tokenizer;
  tokenizerName?: string;
  seed?: number;
  progress?: boolean;
  shouldStop?: () => boolean;
  /** Replace the sensing/web datasets already in `out`. */
  force?: boolean;
}

/** Source specs of the 'sensing' corpus inside a generated datasets directory. */
export function sensingSources(dir: string): SourceSpec[] {
  const task = (name: string, layout: 'rows' | 'columns', instruction: string): SourceSpec => ({
    path: path.join(dir, name, 'train.csv'),
    format: 'sensor',
    sensor: { group: 'sample', label: 'label', render: { layout, template: 'instruction', instruction } },
  });
  return [
    ...['gesture_stream.csv', 'robot_stream.csv'].map((f): SourceSpec => ({ path: path.join(dir, 'sensor-logs', f), format: 'sensor', sensor: { window: 16 } })),
    task('gesture', 'columns', GESTURE_INSTRUCTION),
    task('robot', 'rows', ROBOT_INSTRUCTION),
  ];
}

/** Prepares `<out>/sensing_*` and `<out>/web_*` from a generated datasets directory. */
export async function prepareBuiltinCorpus(opts: BuiltinCorpusOptions): Promise<{ sensing: Manifest; web: Manifest }> {
  if (!fs.existsSync(path.join(opts.datasets, DATASETS_MANIFEST))) {
    throw new UserError(`${opts.datasets}: not a generated datasets directory (no datasets.json); run 'tinyllm datasets generate --out ${opts.datasets}' first`);
  }
  // both names are checked before either is written, so a refusal leaves nothing half done
  if (!opts.force) for (const name of ['sensing', 'web']) checkDatasetFree(opts.out, name);
  const common = { out: opts.out, tokenizer: opts.tokenizer, tokenizerName: opts.tokenizerName ?? 'gpt2', seed: opts.seed, progress: opts.progress, shouldStop: opts.shouldStop, valFraction: 0.1, force: opts.force };
  const sensing = await prepare({ ...common, name: 'sensing', inputs: sensingSources(opts.datasets) });
  const web = await prepare({ ...common, name: 'web', inputs: [{ path: path.join(opts.datasets, 'text', 'prose.txt'), format: 'text', separator: '---' }] });
  return { sensing, web };
}
