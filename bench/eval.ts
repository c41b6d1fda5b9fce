// Evaluation speed: rows/s of `tinyllm eval` on the built-in gesture task (prompts of ~240 GPT-2 tokens, 3
// labels) for GPT-2 30M / 124M with random weights, per method: ranking (one prefill, rows sharing the
// instruction's prefix, one LM-head pass over all labels), greedy generation (to max tokens: random weights never
// write the end marker, so this is the worst case; a trained model's greedy answer is read off the ranking)
// and both sharing one prefill. Medians of --rounds rounds; the load average is printed, and the process CPU
// seconds per row (all threads), which a busy machine inflates less than wall time. One more ranking round per
// model times the kernels one by one (ms per row): the prompt's matmuls, the labels' small ones, the LM head,
// attention, layernorm + GELU + add, and the rest (embedding, log-softmax, tokenizing the prompt).
// Run: npx tsx bench/eval.ts [--models 30M,124M] [--rows 8] [--rounds 3] [--kernels wasm] [--threads N]
// Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { evaluate } from '../src/eval/evaluate.js';
import { availableTiers, getKernels, setKernels, defaultThreads } from '../src/kernels/index.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { SCORE_ROWS } from '../src/models/gpt2/block-decode.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { TINYLLM_TEMPLATE } from '../src/task/template.js';
import { gpt2 } from '../src/tokenizer/gpt2.js';
import { builtinTask } from './lib/tasks.js';
import { arg, median } from './lib/args.js';

const models = (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[];
const nRows = Number(arg('rows') ?? 8);
const rounds = Number(arg('rounds') ?? 3);
const tier = arg('kernels') ?? (availableTiers().at(-1) as string);
const threads = Number(arg('threads') ?? defaultThreads());
setKernels(tier, { threads });

const { train, test: allTest } = await builtinTask('gesture', 0.05);
const test = allTest.slice(0, nRows);
const tok = gpt2();
const promptTokens = test.reduce((s, e) => s + tok.encode(`${e.instruction}\n${e.input}`).length, 0) / test.length;
console.log(`eval bench: ${tier}, ${threads} threads; ${test.length} gesture rows of ~${promptTokens.toFixed(0)} prompt tokens; ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const profiles: { model: string; msPerRow: Record<string, number> }[] = [];
const results: { model: string; method: string; rowsPerSec: number; min: number; max: number; secondsPer1000Rows: number; cpuSecondsPerRow: number }[] = [];
for (const name of models) {
  const model = new GPT2(presetConfig(name), { seed: 1 });
  for (const method of ['rank', 'generate', 'all'] as const) {
    const rates: number[] = [];
    const cpu: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      evaluate(model, tok, test, train, { template: TINYLLM_TEMPLATE, contextLength: model.config.blockSize, rank: method !== 'generate', generate: method !== 'rank' });
      rates.push(test.length / ((performance.now() - t0) / 1000));
      const c = process.cpuUsage(c0);
      cpu.push((c.user + c.system) / 1e6 / test.length);
    }
    const rps = median(rates);
    results.push({ model: name, method, rowsPerSec: +rps.toFixed(3), min: +Math.min(...rates).toFixed(3), max: +Math.max(...rates).toFixed(3), secondsPer1000Rows: Math.round(1000 / rps), cpuSecondsPerRow: +median(cpu).toFixed(3) });
    console.log(`${name.padEnd(5)} ${method.padEnd(8)} ${rps.toFixed(2).padStart(7)} rows/s (min ${Math.min(...rates).toFixed(2)}, max ${Math.max(...rates).toFixed(2)}) → ${Math.round(1000 / rps)} s per 1000 rows; ${median(cpu).toFixed(3)} CPU s/row`);
  }
  const split = profileRanking(model);
  profiles.push({ model: name, msPerRow: split });
  console.log(`${name.padEnd(5)} ranking, ms per row: ${Object.entries(split).map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
console.log(JSON.stringify({ bench: 'eval', tier, threads, rows: test.length, promptTokens: Math.round(promptTokens), loadavg: loadavg().map((l) => +l.toFixed(2)), results, profiles }));

/** One ranking round with the kernels timed one by one; ms per row by part. */
function profileRanking(model: GPT2): Record<string, number> {
  const k = getKernels() as unknown as Record<string, (...a: unknown[]) => unknown>;
  const V = model.config.vocabSize;
  const ms: Record<string, number> = { 'prompt matmuls': 0, 'label matmuls': 0, 'LM head': 0, attention: 0, 'layernorm, GELU, add': 0 };
  const part = (name: string, a: unknown[]): string => {
    if (name !== 'matmul') return name === 'attentionDecode' ? 'attention' : 'layernorm, GELU, add';
    // the labels run in chunks of at most SCORE_ROWS rows; a prompt (~240 tokens, ~200 after the shared prefix) in one
    return a[5] === V ? 'LM head' : (a[3] as number) <= SCORE_ROWS ? 'label matmuls' : 'prompt matmuls';
  };
  const names = ['matmul', 'attentionDecode', 'layernormForward', 'geluForward', 'add'].filter((n) => typeof k[n] === 'function');
  const originals = names.map((n) => k[n]);
  names.forEach((n, i) => {
    k[n] = (...a: unknown[]) => {
      const t = performance.now();
      const r = originals[i].apply(k, a);
      ms[part(n, a)] += performance.now() - t;
      return r;
    };
  });
  const t0 = performance.now();
  try {
    evaluate(model, tok, test, train, { template: TINYLLM_TEMPLATE, contextLength: model.config.blockSize, generate: false });
  } finally {
    names.forEach((n, i) => (k[n] = originals[i]));
  }
  const total = performance.now() - t0;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(ms)) out[key] = +(v / test.length).toFixed(1);
  out.rest = +((total - Object.values(ms).reduce((a, b) => a + b, 0)) / test.length).toFixed(1);
  out.total = +(total / test.length).toFixed(1);
  return out;
}
