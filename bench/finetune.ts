// Fine-tuning step cost: s/step, tokens/s and peak RSS of full, LoRA (r=64, α=256 on all four linear layers)
// and top-2-block fine-tuning of GPT-2 30M and 124M at B=4, T=512 and 1024, on rows shaped like a gesture
// prompt (every position but the last 5 masked: loss on a ~5-token answer), beside a pre-training step of the
// same shape (every position counted) measured the same way in the same run. Each job runs in its own Node
// process so its peak RSS is its own; the timed steps are medians with their spread. Random tokens. Also the cost
// of `finetune --jitter 2`, `--shift 4 --jitter 2` and `--gain 1.4 --shift 4 --jitter 2` per drawn row (augmenting + encoding a generated gesture row again) beside plain encoding.
// Run: npx tsx bench/finetune.ts [--quick] [--models 30M,124M] [--seqs 512,1024] [--methods pretrain,full,lora,top2]
//      [--steps 3] [--rows-per-pass 1] [--recompute auto|on|off] [--threads N]
// Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { runChild } from './lib/child.js';
import { createKernels, defaultThreads, getKernels, setKernels } from '../src/kernels/index.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { presetConfig, type GPT2Config, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { Finetuner, type FinetuneBatch } from '../src/finetune/finetuner.js';
import { LORA_DEFAULTS, type FinetuneMethod } from '../src/finetune/method.js';
import { Rng } from '../src/util/rng.js';
import { GESTURE_COLUMNS, GESTURE_INSTRUCTION, GESTURE_LABELS, gestureSample, randomScene } from '../src/data/generate/gesture.js';
import { encodeExample } from '../src/task/encode.js';
import { jitterNumbers, sameTokenCount } from '../src/task/jitter.js';
import { augmentedExample } from '../src/task/augment.js';
import { TINYLLM_TEMPLATE } from '../src/task/template.js';
import { gpt2 } from '../src/tokenizer/index.js';
import { arg } from './lib/args.js';

type MethodName = 'pretrain' | 'full' | 'lora' | 'top2';

interface Job {
  model: GPT2PresetName | 'tiny';
  method: MethodName;
  B: number;
  T: number;
  answer: number;
  steps: number;
  threads: number;
  rowsPerPass: number;
  recompute: boolean;
}

interface JobResult extends Job {
  sPerStep: number;
  /** Fastest and slowest timed step. */
  spread: [number, number];
  tokPerSec: number;
  peakRssMB: number;
  trainable: number;
}

const TINY: GPT2Config = { nLayer: 2, nHead: 2, nEmbd: 64, vocabSize: 512, blockSize: 128 };

function methodOf(name: MethodName): FinetuneMethod {
  if (name === 'lora') return { kind: 'lora', lora: LORA_DEFAULTS };
  if (name === 'top2') return { kind: 'top', layers: 2 };
  return { kind: 'full' };
}

/** Child process: one job, printed as JSON. */
async function child(job: Job): Promise<JobResult> {
  setKernels(createKernels(getKernels().name, { threads: job.threads }));
  const config = job.model === 'tiny' ? TINY : presetConfig(job.model);
  const model = new GPT2(config, { seed: 1 });
  const rng = new Rng(2);
  const { B, T } = job;
  const inputs = Int32Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  const targets = Int32Array.from({ length: B * T }, () => rng.int(config.vocabSize));
  // fine-tuning rows: loss only on the answer at the end of each row (a gesture window filling the context)
  if (job.method !== 'pretrain') for (let b = 0; b < B; b++) targets.fill(-1, b * T, (b + 1) * T - job.answer);
  const batch: FinetuneBatch = { inputs, targets, B, T };
  const ft = new Finetuner(model, {
    method: methodOf(job.method),
    schedule: { lr: 1e-5, warmup: 1, steps: 1000, finalLrFrac: 0.1 },
    gradClip: 1,
    maxTokensPerPass: job.rowsPerPass * T,
    recompute: job.recompute,
  });
  ft.reserve(B, T, job.method === 'pretrain' ? B * T : B * job.answer);
  ft.trainStep(batch); // warm-up: plans activations, starts workers, compiles
  const bench = new Bench({ iterations: job.steps, time: 0, warmupIterations: 0, warmupTime: 0 });
  bench.add('step', () => {
    ft.trainStep(batch);
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench ${job.model} ${job.method}: ${r.state}`);
  const s = r.latency.p50 / 1000;
  return {
    ...job,
    sPerStep: +s.toFixed(3),
    spread: [+(r.latency.min / 1000).toFixed(3), +(r.latency.max / 1000).toFixed(3)],
    tokPerSec: +((B * T) / s).toFixed(1),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    trainable: ft.numTrainable,
  };
}

const childArg = arg('child');
if (childArg) {
  const res = await child(JSON.parse(childArg) as Job);
  console.log(JSON.stringify(res));
  process.exit(0);
}

const quick = process.argv.includes('--quick');
const models = (arg('models') ?? (quick ? 'tiny' : '30M,124M')).split(',') as Job['model'][];
const Ts = (arg('seqs') ?? (quick ? '64,128' : '512,1024')).split(',').map(Number);
const methods = (arg('methods') ?? 'pretrain,full,lora,top2').split(',') as MethodName[];
const steps = Number(arg('steps') ?? (quick ? 2 : 3));
const threads = Number(arg('threads') ?? defaultThreads());
const rowsPerPass = Number(arg('rows-per-pass') ?? 1);
const recomputeFlag = arg('recompute') ?? 'auto';
const B = 4;
const answer = 5;
const load0 = loadavg();
console.log(
  `finetune bench: models ${models.join(', ')}; B=${B}, T=${Ts.join('/')}, loss on the last ${answer} tokens of each row; methods ${methods.join(', ')}; ` +
    `${rowsPerPass} row(s) per pass, recompute ${recomputeFlag}; ${threads} threads; ${steps} timed steps; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`,
);

const results: JobResult[] = [];
for (const model of models) {
  for (const T of Ts) {
    for (const method of methods) {
      // auto: recompute blocks for 124M (its per-block activations at T=1024 would not fit 1.5 GB otherwise)
      const recompute = recomputeFlag === 'on' || (recomputeFlag === 'auto' && model === '124M');
      const job: Job = { model, method, B, T, answer, steps, threads, rowsPerPass, recompute };
      const p = runChild<JobResult>(fileURLToPath(import.meta.url), job);
      if (!p.ok) {
        console.log(`${model} T=${T} ${method}: failed (exit ${p.status}) ${p.last}`);
        continue;
      }
      const r = p.result;
      results.push(r);
      console.log(
        `${model.padEnd(5)} T=${String(T).padEnd(4)} ${method.padEnd(8)} ${r.sPerStep.toFixed(2).padStart(7)} s/step (${r.spread[0].toFixed(2)}–${r.spread[1].toFixed(2)})  ` +
          `${r.tokPerSec.toFixed(0).padStart(6)} tok/s  peak RSS ${String(r.peakRssMB).padStart(5)} MB  ${r.trainable.toLocaleString('en-US')} trainable${recompute ? '  (recompute)' : ''}`,
      );
    }
  }
}
// --jitter's, --shift's and --gain's extra work per drawn row: augmenting + encoding again, against encoding alone (tinybench means, same run)
const tok = gpt2();
const rng = new Rng(5);
const rows = Array.from({ length: 64 }, (_, i) => {
  const r = gestureSample(rng, GESTURE_LABELS[i % 3], randomScene(rng));
  const input = GESTURE_COLUMNS.map((c, j) => `${c}: ${r.map((v) => v[j]).join(' ')}`).join('\n');
  return { instruction: GESTURE_INSTRUCTION, input, output: GESTURE_LABELS[i % 3], where: `row ${i}` };
});
const keep = sameTokenCount(tok);
const prompt = { template: TINYLLM_TEMPLATE, contextLength: 1024 };
const jb = new Bench({ time: quick ? 100 : 1000 });
jb.add('encode', () => {
  for (const r of rows) encodeExample(tok, r, prompt);
});
jb.add('jitter+encode', () => {
  for (const r of rows) encodeExample(tok, { ...r, input: jitterNumbers(r.input, 2, rng, keep) }, prompt);
});
const plain = rows.map((r) => encodeExample(tok, r, prompt));
const longest = Math.max(...plain.map((e) => e.ids.length));
for (const [name, gain] of [['shift+jitter+encode', 1], ['gain+shift+jitter+encode', 1.4]] as const) {
  jb.add(name, () => {
    rows.forEach((r, i) => augmentedExample(tok, r, plain[i], { jitter: 2, shift: 4, gain, keep }, rng, prompt, longest));
  });
}
await jb.run();
const msPerRow = (name: string) => {
  const r = jb.tasks.find((t) => t.name === name)?.result;
  return (r && 'latency' in r ? r.latency.mean : NaN) / rows.length;
};
const jitter = { msPerRowEncode: +msPerRow('encode').toFixed(4), msPerRowJitterEncode: +msPerRow('jitter+encode').toFixed(4), msPerRowShiftJitterEncode: +msPerRow('shift+jitter+encode').toFixed(4), msPerRowGainShiftJitterEncode: +msPerRow('gain+shift+jitter+encode').toFixed(4) };
console.log(`--jitter 2: ${jitter.msPerRowJitterEncode.toFixed(3)} ms per drawn gesture row (jitter + encode), --shift 4 --jitter 2: ${jitter.msPerRowShiftJitterEncode.toFixed(3)} ms, --gain 1.4 --shift 4 --jitter 2: ${jitter.msPerRowGainShiftJitterEncode.toFixed(3)} ms, against ${jitter.msPerRowEncode.toFixed(3)} ms to encode it`);

// a fine-tune step's time as a fraction of the pre-training step of the same model and T
const ratios = results
  .filter((r) => r.method !== 'pretrain')
  .flatMap((r) => {
    const base = results.find((p) => p.method === 'pretrain' && p.model === r.model && p.T === r.T);
    return base ? [{ model: r.model, T: r.T, method: r.method, vsPretrain: +(r.sPerStep / base.sPerStep).toFixed(3) }] : [];
  });
for (const q of ratios) console.log(`${q.model} T=${q.T} ${q.method}: ${q.vsPretrain.toFixed(2)} × a pre-training step`);
console.log(JSON.stringify({ bench: 'finetune', threads, loadavg: { start: load0.map((l) => +l.toFixed(2)), end: loadavg().map((l) => +l.toFixed(2)) }, results, ratios, jitter }));
