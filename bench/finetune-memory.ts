// Fine-tuning methods side by side on the built-in gesture task (as the PocketLLM / Edge-LLM papers compare
// them): per model and method, peak RSS, median time per step, the step of the best validation accuracy, and
// the test accuracy of that best model, beside the majority-class, nearest-centroid and 5-NN baselines on the same
// test rows. Full fine-tuning and LoRA are the reference rows; zo / zo-lora are the forward-only methods; lora-int8 is
// LoRA over a frozen int8 base (a .tllm file the parent exports from the same starting weights, as a device would get it).
// Each job is a whole `tinyllm finetune` run (runFinetune) in its own Node process, so its peak RSS is its own.
// Run: npx tsx bench/finetune-memory.ts [--quick] [--models 30M,124M] [--methods full,lora,zo,zo-lora,lora-int8]
//      [--steps 60] [--val-every 10] [--batch 4] [--scale 0.2] [--from-30M file] [--from-124M file] [--threads N]
//      [--max-tokens-per-pass N] (every method: passes of at most N tokens, the same step) [--lr X] (every method's)
//      [--lora-r 8] [--lora-alpha 16] (the LoRA rows; TinyLLM uses 64 and 256)
// (--from-<model>: start from pre-trained weights; default a fresh init.) Last stdout line: one JSON summary.
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { finetuneSettings } from '../src/cli/commands/finetune.js';
import { exportTllm } from '../src/export/deploy.js';
import { loadWeights } from '../src/export/load.js';
import { presetConfig, type GPT2Config, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { plainF32 } from '../src/models/gpt2/params.js';
import { generateDatasets } from '../src/data/generate/index.js';
import { knnClassify, majorityClass, nearestCentroid } from '../src/eval/baselines.js';
import { featurize, fitFeatures } from '../src/eval/features.js';
import { runFinetune } from '../src/finetune/run.js';
import { createKernels, getKernels, setKernels } from '../src/kernels/index.js';
import { MetricsLog } from '../src/train/metrics.js';
import { readTaskFile } from '../src/task/read.js';
import { runChild } from './lib/child.js';
import { arg, median } from './lib/args.js';

/** The --quick model (vocabulary: GPT-2's). */
const TINY = { nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 1024 };

type MethodName = 'full' | 'lora' | 'zo' | 'zo-lora' | 'lora-int8';

/** Flags of each method (learning rates: the usual starting points of each family, not tuned to this task). */
const METHOD_FLAGS: Record<MethodName, string[]> = {
  full: ['--method', 'full', '--lr', '1e-4'],
  lora: ['--method', 'lora', '--lr', '3e-4'],
  zo: ['--method', 'zo', '--lr', '1e-5', '--zo-eps', '1e-3', '--zo-n', '1', '--grad-clip', '0'],
  'zo-lora': ['--method', 'zo', '--zo-lora', '--lr', '1e-3', '--zo-eps', '1e-3', '--zo-n', '1', '--grad-clip', '0'],
  'lora-int8': ['--method', 'lora', '--lr', '3e-4'], // --from <int8 .tllm>: the frozen base (implies --recompute)
};

interface Job {
  model: string;
  method: MethodName;
  from: string | null;
  files: { train: string; val: string; test: string };
  steps: number;
  valEvery: number;
  batch: number;
  threads: number;
  maxTokensPerPass: number | null;
  /** The learning rate of every method instead of its own (--lr). */
  lr: string | null;
  /** LoRA rank and alpha (--lora-r, --lora-alpha; default 8 and 16). */
  loraR: number;
  loraAlpha: number;
}

interface JobResult {
  model: string;
  method: MethodName;
  trainable: number;
  peakRssMB: number;
  sPerStep: number;
  /** Fastest and slowest step. */
  spread: [number, number];
  bestStep: number | null;
  bestValAccuracy: number | null;
  testAccuracy: number | null;
  seconds: number;
}

/** Child process: one fine-tuning run, its figures as JSON. */
async function child(job: Job): Promise<JobResult> {
  setKernels(createKernels(getKernels().name, { threads: job.threads }));
  const out = fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-ftmem-'));
  const size = job.model === 'tiny' ? ['--n-layer', String(TINY.nLayer), '--n-head', String(TINY.nHead), '--n-embd', String(TINY.nEmbd), '--block-size', String(TINY.blockSize)] : ['--model', job.model];
  const argv = [
    ...(job.from ? ['--from', job.from] : size),
    ...['--train', job.files.train, '--val', job.files.val, '--test', job.files.test],
    ...['--steps', String(job.steps), '--val-every', String(job.valEvery), '--batch', String(job.batch), '--patience', '0'],
    ...['--ckpt-every', '0', '--log-every', String(job.steps), '--lora-r', String(job.loraR), '--lora-alpha', String(job.loraAlpha)],
    ...(job.maxTokensPerPass ? ['--max-tokens-per-pass', String(job.maxTokensPerPass)] : []),
    ...METHOD_FLAGS[job.method],
    ...(job.lr ? ['--lr', job.lr] : []), // the last --lr wins
  ];
  const { settings, initWeights } = finetuneSettings(argv);
  const sink = fs.createWriteStream('/dev/null') as unknown as NodeJS.WriteStream;
  try {
    const r = await runFinetune(settings, { out, force: true, stream: sink, live: false, initWeights });
    const ms = new MetricsLog(path.join(out, 'metrics.jsonl')).read().flatMap((x) => (x.type === 'train' && typeof x.ms === 'number' ? [x.ms / 1000] : []));
    return {
      model: job.model,
      method: job.method,
      trainable: r.trainable,
      peakRssMB: process.resourceUsage().maxRSS / 1024,
      sPerStep: median(ms.slice(1)),
      spread: [Math.min(...ms.slice(1)), Math.max(...ms.slice(1))],
      bestStep: r.best?.step ?? null,
      bestValAccuracy: r.best?.accuracy ?? null,
      testAccuracy: r.test?.accuracy ?? null,
      seconds: r.seconds,
    };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Majority-class, nearest-centroid and 5-NN accuracy on the test rows (the baselines of tinyllm eval). */
async function baselines(files: Job['files']): Promise<{ majority: number; nearestCentroid: number; knn5: number }> {
  const train = await readTaskFile(files.train);
  const test = await readTaskFile(files.test);
  const acc = (pred: (string | undefined)[]) => pred.filter((p, i) => p === test[i].output).length / test.length;
  const space = fitFeatures(train.map((e) => e.input));
  const labels = train.map((e) => e.output);
  const [trainX, testX] = [featurize(space, train.map((e) => e.input)), featurize(space, test.map((e) => e.input))];
  return {
    majority: acc(test.map(() => majorityClass(labels))),
    nearestCentroid: acc(nearestCentroid(trainX, labels, testX)),
    knn5: acc(knnClassify(trainX, labels, testX, 5)),
  };
}

/** The model's starting weights (the file, else the fresh init every other row starts from) as an int8 .tllm file (made once). */
function int8Base(dir: string, model: string, from: string | undefined): string {
  const file = path.join(dir, `base-${model}.tllm`);
  if (fs.existsSync(file)) return file;
  let config: GPT2Config;
  let params: Map<string, Float32Array>;
  if (from) {
    const w = loadWeights(from);
    config = w.config;
    params = w.params as Map<string, Float32Array>;
  } else {
    config = model === 'tiny' ? { ...TINY, vocabSize: 50257 } : presetConfig(model as GPT2PresetName);
    const m = new GPT2(config, { seed: 1337, alloc: plainF32 }); // finetune's default --seed
    params = new Map(m.params.names().map((n) => [n, m.params.get(n) as Float32Array]));
  }
  exportTllm(file, config, params, { scheme: { weights: 'int8', embedding: 'int8', group: 64 }, tokenizer: 'gpt2' });
  return file;
}

async function main(): Promise<void> {
  const childArg = arg('child');
  if (childArg !== undefined) {
    console.log(JSON.stringify(await child(JSON.parse(childArg) as Job)));
    return;
  }
  const quick = process.argv.includes('--quick');
  const models = (arg('models') ?? (quick ? 'tiny' : '30M,124M')).split(',');
  const methods = (arg('methods') ?? 'full,lora,zo,zo-lora,lora-int8').split(',') as MethodName[];
  for (const m of methods) if (!(m in METHOD_FLAGS)) throw new Error(`--methods: unknown method '${m}' (${Object.keys(METHOD_FLAGS).join(', ')})`);
  const steps = Number(arg('steps') ?? (quick ? 4 : 60));
  const valEvery = Number(arg('val-every') ?? (quick ? 2 : 10));
  const batch = Number(arg('batch') ?? (quick ? 2 : 4));
  const threads = Number(arg('threads') ?? 1);
  for (const flag of ['lr', 'lora-r', 'lora-alpha']) {
    const v = arg(flag);
    if (v !== undefined && !(Number(v) > 0)) throw new Error(`--${flag}: expected a positive number, got '${v}'`);
  }
  const lora = { r: Number(arg('lora-r') ?? 8), alpha: Number(arg('lora-alpha') ?? 16) };
  const data = fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-ftmem-data-'));
  generateDatasets({ out: data, seed: 1337, scale: Number(arg('scale') ?? (quick ? 0.02 : 0.2)) });
  const files = { train: path.join(data, 'gesture', 'train.jsonl'), val: path.join(data, 'gesture', 'val.jsonl'), test: path.join(data, 'gesture', 'test.jsonl') };
  const base = await baselines(files);
  const script = fileURLToPath(import.meta.url);
  const results: (JobResult | { model: string; method: MethodName; failed: string })[] = [];
  const load: number[] = [loadavg()[0]];
  for (const model of models) {
    for (const method of methods) {
      const from = method === 'lora-int8' ? int8Base(data, model, arg(`from-${model}`)) : (arg(`from-${model}`) ?? null);
      const maxTokensPerPass = arg('max-tokens-per-pass') ? Number(arg('max-tokens-per-pass')) : null;
      const job: Job = { model, method, from, files, steps, valEvery, batch, threads, maxTokensPerPass, lr: arg('lr') ?? null, loraR: lora.r, loraAlpha: lora.alpha };
      const r = runChild<JobResult>(script, job);
      load.push(loadavg()[0]);
      if (!r.ok) {
        results.push({ model, method, failed: `exit ${r.status}: ${r.last}` });
        console.log(`${model} ${method}: failed (exit ${r.status})`);
        continue;
      }
      const x = r.result;
      results.push(x);
      const pct = (a: number | null) => (a === null ? '—' : `${(100 * a).toFixed(1)}%`);
      console.log(`${model.padEnd(5)} ${method.padEnd(8)} peak RSS ${x.peakRssMB.toFixed(0).padStart(5)} MiB | ${x.sPerStep.toFixed(3)} s/step | best val ${pct(x.bestValAccuracy)} at step ${x.bestStep} | test ${pct(x.testAccuracy)}`);
    }
  }
  fs.rmSync(data, { recursive: true, force: true });
  console.log(`baselines on the same test rows: majority ${(100 * base.majority).toFixed(1)}%, nearest centroid ${(100 * base.nearestCentroid).toFixed(1)}%, 5-NN ${(100 * base.knn5).toFixed(1)}%`);
  console.log(JSON.stringify({ bench: 'finetune-memory', quick, steps, valEvery, batch, threads, lr: arg('lr') ?? null, lora, maxTokensPerPass: arg('max-tokens-per-pass') ?? null, kernels: getKernels().name, load, baselines: base, results }));
}

await main();
