// `tinyllm demo` (what `npm start` runs): the whole pipeline on built-in data, offline, in a couple of
// minutes on two cores — generate the sensing datasets, tokenize them into llm.c shards, pre-train a small
// GPT-2 and let it answer a held-out robot-localization prompt. Each step is the real subcommand.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { renderPrompt, TINYLLM_TEMPLATE } from '../../task/template.js';
import { Interrupted } from '../../util/interrupt.js';
import { parseCommand, type OptionSpecs } from '../args.js';
import { run as datasets } from './datasets.js';
import { run as prepare } from './prepare.js';
import { run as pretrain } from './pretrain.js';
import { run as generate } from './generate.js';

export const summary = 'the whole pipeline on built-in data: datasets → shards → pre-train a small GPT-2 → generate';

const options = {
  out: { type: 'string', short: 'o', help: 'working directory for datasets, shards and the run', default: 'runs/demo' },
  steps: { type: 'number', min: 1, integer: true, help: 'pre-training steps', default: 200 },
  'n-layer': { type: 'number', min: 1, max: 48, integer: true, help: 'transformer blocks of the demo model', default: 4 },
  'n-embd': { type: 'number', min: 32, max: 4096, integer: true, help: 'width of the demo model (heads = width / 32)', default: 128 },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'seed for data, init and sampling', default: 1337 },
  resume: { type: 'boolean', help: 'continue an interrupted demo run instead of starting over', default: false },
} satisfies OptionSpecs;

function banner(step: string): void {
  console.log(`\n=== ${step}`);
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('demo', argv, options, { usage: '[--out runs/demo] [--steps N]', summary });
  if (!parsed) return;
  const o = parsed.options;
  const dir = (...p: string[]) => path.join(o.out, ...p);
  const seed = String(o.seed);

  banner('1/4 generate the built-in sensing datasets (gesture, robot localization, sensor logs)');
  await datasets(['generate', '--out', dir('datasets'), '--seed', seed]);

  banner('2/4 tokenize with GPT-2 BPE into llm.c shards (train/val split by document)');
  await prepare(['--preset', 'sensing', dir('datasets'), '--out', dir('data'), '--seed', seed]);

  banner(`3/4 pre-train a small GPT-2 (${o['n-layer']} layers × ${o['n-embd']}) for ${o.steps} steps`);
  const runDir = dir('model');
  const resume = o.resume && fs.existsSync(path.join(runDir, 'checkpoint.ckpt'));
  const again = `tinyllm demo --resume${o.out === options.out.default ? '' : ` --out ${o.out}`}${o.steps === options.steps.default ? '' : ` --steps ${o.steps}`}`;
  // the demo's own run directory: a fresh demo starts over in it (--force), --resume continues it
  await pretrain([
    '--data', dir('data', 'sensing_train'),
    '--n-layer', String(o['n-layer']),
    '--n-head', String(Math.max(1, Math.round(o['n-embd'] / 32))),
    '--n-embd', String(o['n-embd']),
    '--block-size', '256',
    '--batch', '4',
    '--seq', '128',
    '--steps', String(o.steps),
    '--lr', '1e-3',
    '--val-every', String(Math.max(1, Math.floor(o.steps / 4))),
    '--val-batches', '10',
    '--sample-every', '0',
    '--ckpt-every', '100',
    '--seed', seed,
    '--out', runDir,
    ...(resume ? ['--resume', runDir] : ['--force']),
  ]).catch((e: unknown) => {
    throw e instanceof Interrupted ? new Interrupted(`pre-training stopped; the checkpoint is saved in ${runDir}; continue the demo with: ${again}`) : e;
  });

  banner('4/4 ask the model where the robot is (a held-out test sample)');
  const first = fs.readFileSync(dir('datasets', 'robot', 'test.jsonl'), 'utf8').split('\n')[0];
  const sample = JSON.parse(first) as { instruction: string; input: string; output: string };
  await generate(['--ckpt', runDir, '--prompt', renderPrompt(TINYLLM_TEMPLATE, sample), '--max-tokens', '8', '--temperature', '0', '--stop', '\n', '--seed', seed]);
  console.log(`\n(the test set's answer: ${sample.output}. A ${o['n-layer']}-layer model after ${o.steps} steps has learned the`);
  console.log(' shape of sensor data — compare its validation loss above with the unigram baseline — not yet the task;');
  console.log(' longer pre-training (--steps) and fine-tuning on the labelled samples are what teach it to answer.)');
  console.log(`\nEverything is in ${o.out}/: datasets/, data/ (shards + manifests), model/ (checkpoint, metrics.jsonl, loss.svg).`);
  console.log(`Next: tinyllm generate --ckpt ${runDir} --prompt "…", tinyllm convert ${runDir} out-hf --to hf, tinyllm --help.`);
}
