// Training speed of GPT-2 30M and 124M: ms/step, tokens/s and peak RSS at B=4 with T=64 (and T=256 with
// --long), per kernel tier, plus a per-op time breakdown of one step (encoder, layernorm, each matmul
// forward/backward, attention, GELU, softmax+CE, AdamW). Each (tier, model, T) runs in its own Node process
// so its peak RSS is its own. Random tokens; timings on a shared machine are noisy (load average printed).
// Run: npx tsx bench/train.ts [--kernels wasm,js,ref] [--models 30M,124M] [--long | --seqs 64,256] [--steps 2] [--threads N]
// Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Bench } from 'tinybench';
import { runChild } from './lib/child.js';
import { availableTiers, createKernels, defaultThreads, setKernels } from '../src/kernels/index.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { OpProfiler } from '../src/models/profile.js';
import { Trainer } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './lib/args.js';

interface Job {
  tier: string;
  model: GPT2PresetName;
  B: number;
  T: number;
  steps: number;
  threads: number;
}

interface JobResult extends Job {
  msPerStep: number;
  tokPerSec: number;
  peakRssMB: number;
  /** Resident memory after the warm-up step and after the timed steps: flat when nothing leaks. */
  rssAfterWarmupMB: number;
  rssAfterStepsMB: number;
  initMs: number;
  breakdownMs: Record<string, number>;
}

/** Child process: one (tier, model, T) measurement, printed as JSON. */
async function child(job: Job): Promise<JobResult> {
  const t0 = performance.now();
  setKernels(createKernels(job.tier, { threads: job.threads }));
  const config = presetConfig(job.model);
  const model = new GPT2(config, { seed: 1 });
  const rng = new Rng(2);
  const batch = Int32Array.from({ length: job.B * (job.T + 1) }, () => rng.int(config.vocabSize));
  const trainer = new Trainer(model, { next: () => batch }, {
    B: job.B,
    T: job.T,
    gradAccum: 1,
    schedule: { lr: 1e-4, warmup: 1, steps: 100, finalLrFrac: 0.1 },
    gradClip: 1,
  });
  const initMs = performance.now() - t0;
  trainer.trainStep(); // warm-up: plans activations, starts workers, compiles
  const rssAfterWarmupMB = Math.round(process.memoryUsage().rss / 2 ** 20);
  const prof = new OpProfiler();
  model.profiler = prof;
  trainer.trainStep();
  model.profiler = null;
  const bench = new Bench({ iterations: job.steps, time: 0, warmupIterations: 0, warmupTime: 0 });
  bench.add('step', () => {
    trainer.trainStep();
  });
  await bench.run();
  const r = bench.tasks[0].result;
  if (r.state !== 'completed') throw new Error(`bench ${job.tier} ${job.model}: ${r.state}`);
  const msPerStep = r.latency.mean;
  return {
    ...job,
    msPerStep: +msPerStep.toFixed(1),
    tokPerSec: +((job.B * job.T * 1000) / msPerStep).toFixed(1),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    rssAfterWarmupMB,
    rssAfterStepsMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    initMs: Math.round(initMs),
    breakdownMs: Object.fromEntries(prof.entries().map(([k, v]) => [k, +v.toFixed(1)])),
  };
}

const childArg = arg('child');
if (childArg) {
  const res = await child(JSON.parse(childArg) as Job);
  console.log(JSON.stringify(res));
  process.exit(0);
}

const tiers = (arg('kernels') ?? availableTiers()[availableTiers().length - 1]).split(',');
const models = (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[];
const Ts = (arg('seqs') ?? (process.argv.includes('--long') ? '64,256' : '64')).split(',').map(Number);
const steps = Number(arg('steps') ?? 2);
const threads = Number(arg('threads') ?? defaultThreads());
console.log(`train bench: tiers ${tiers.join(', ')}; models ${models.join(', ')}; B=4, T=${Ts.join('/')}; ${threads} threads; ${steps} timed steps; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const results: JobResult[] = [];
for (const tier of tiers) {
  for (const model of models) {
    for (const T of Ts) {
      const job: Job = { tier, model, B: 4, T, steps, threads };
      const p = runChild<JobResult>(fileURLToPath(import.meta.url), job);
      if (!p.ok) {
        console.log(`${tier} ${model} T=${T}: failed (exit ${p.status}) ${p.last}`);
        continue;
      }
      const r = p.result;
      results.push(r);
      console.log(
        `${tier.padEnd(5)} ${model.padEnd(5)} B=4 T=${String(T).padEnd(4)} ${(r.msPerStep / 1000).toFixed(2).padStart(7)} s/step  ` +
          `${r.tokPerSec.toFixed(0).padStart(6)} tok/s  peak RSS ${r.peakRssMB} MB (RSS ${r.rssAfterWarmupMB} -> ${r.rssAfterStepsMB} MB over the timed steps)  (init ${(r.initMs / 1000).toFixed(1)} s)`,
      );
      const total = Object.values(r.breakdownMs).reduce((a, b) => a + b, 0);
      console.log(
        '      ' +
          Object.entries(r.breakdownMs)
            .map(([k, v]) => `${k} ${((100 * v) / total).toFixed(1)}%`)
            .join(', '),
      );
    }
  }
}
console.log(JSON.stringify({ bench: 'train', threads, loadavg: loadavg().map((l) => +l.toFixed(2)), results }));
