// llama.cpp's decoding speed on our GGUF export, for side-by-side rows with our own runtime: GPT-2 30M / 124M
// (random init, seed 1) exported as F32 and Q8_0, run by node-llama-cpp (CPU, 1 thread by default): a 64-token
// prompt, then 128 greedy tokens; time to first token and decode tokens/s, median of several rounds with spread.
// Needs node-llama-cpp in .cache/llamacpp (npx tsx scripts/llamacpp.ts install); without it, prints one line
// saying so and a JSON summary with "skipped". llamaCppDecodeBench() is what other benches call.
// Run: npx tsx bench/llamacpp.ts [--models 30M,124M] [--dtypes f32,q8_0] [--prompt 64] [--tokens 128] [--threads 1] [--rounds 3]
// Last stdout line: one JSON summary object.
import * as fs from 'node:fs';
import { loadavg } from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { saveGgufGPT2, type GgufDtype } from '../src/export/gguf-gpt2.js';
import { paramsFromFlat } from '../src/export/params.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { plainF32 } from '../src/models/gpt2/params.js';
import { gpt2 } from '../src/tokenizer/gpt2.js';
import { Rng } from '../src/util/rng.js';
import { LLAMACPP_DIR, loadNodeLlamaCpp, NODE_LLAMA_CPP_VERSION } from '../scripts/llamacpp.js';
import { arg, median } from './lib/args.js';

export interface LlamaCppBenchOptions {
  models: GPT2PresetName[];
  dtypes: GgufDtype[];
  promptTokens: number;
  newTokens: number;
  threads: number;
  rounds: number;
  log?: (line: string) => void;
}

export interface LlamaCppRow {
  engine: 'llama.cpp';
  model: GPT2PresetName;
  dtype: GgufDtype;
  threads: number;
  fileBytes: number;
  /** Median over rounds, with min and max. */
  ttftMs: number;
  decodeTokPerSec: number;
  decodeTokPerSecMin: number;
  decodeTokPerSecMax: number;
  /** CPU time of the process (all threads) per decoded token, median: steadier than wall time under load. */
  decodeCpuMsPerToken: number;
}

/** The GGUF file of a preset (random init, seed 1) in a dtype, written once into .cache/llamacpp/bench. */
export function benchGguf(name: GPT2PresetName, dtype: GgufDtype): string {
  const file = path.join(LLAMACPP_DIR, 'bench', `gpt2-${name}-${dtype}.gguf`);
  if (!fs.existsSync(file)) {
    const config = presetConfig(name);
    const model = new GPT2(config, { seed: 1, alloc: plainF32 });
    saveGgufGPT2(file, config, paramsFromFlat(config, model.params.data as Float32Array), gpt2().model, { dtype, name: `tinyllm GPT-2 ${name} (random init)` });
  }
  return file;
}

/** Decode speed of llama.cpp on our GGUF, or null (with the reason) when node-llama-cpp is not installed. */
export async function llamaCppDecodeBench(o: LlamaCppBenchOptions): Promise<{ rows: LlamaCppRow[] } | { rows: null; reason: string }> {
  const found = await loadNodeLlamaCpp();
  if (!found.mod) return { rows: null, reason: found.reason };
  const say = o.log ?? (() => {});
  const llama = await found.mod.getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const rows: LlamaCppRow[] = [];
  const rng = new Rng(3);
  for (const name of o.models) {
    const vocab = presetConfig(name).vocabSize;
    const prompt = Array.from({ length: o.promptTokens }, () => rng.int(vocab));
    for (const dtype of o.dtypes) {
      const file = benchGguf(name, dtype);
      const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
      const ttft: number[] = [];
      const rate: number[] = [];
      const cpuMs: number[] = [];
      for (let round = 0; round <= o.rounds; round++) {
        // a fresh context per round: nothing of the previous round's prompt is left in the KV cache
        const ctx = await model.createContext({ contextSize: o.promptTokens + o.newTokens + 1, threads: o.threads, batchSize: o.promptTokens });
        const seq = ctx.getSequence();
        const t0 = performance.now();
        let first = 0;
        let cpu0 = process.cpuUsage();
        let n = 0;
        for await (const _token of seq.evaluate(prompt, { temperature: 0 })) {
          if (n === 0) {
            first = performance.now();
            cpu0 = process.cpuUsage();
          }
          if (++n === o.newTokens) break;
        }
        const end = performance.now();
        const cpu = process.cpuUsage(cpu0);
        await ctx.dispose();
        if (round === 0) continue; // warm-up
        ttft.push(first - t0);
        rate.push(((o.newTokens - 1) * 1000) / (end - first));
        cpuMs.push((cpu.user + cpu.system) / 1000 / (o.newTokens - 1));
      }
      await model.dispose();
      const r: LlamaCppRow = {
        engine: 'llama.cpp',
        model: name,
        dtype,
        threads: o.threads,
        fileBytes: fs.statSync(file).size,
        ttftMs: +median(ttft).toFixed(1),
        decodeTokPerSec: +median(rate).toFixed(1),
        decodeTokPerSecMin: +Math.min(...rate).toFixed(1),
        decodeTokPerSecMax: +Math.max(...rate).toFixed(1),
        decodeCpuMsPerToken: +median(cpuMs).toFixed(2),
      };
      rows.push(r);
      say(`llama.cpp ${name.padEnd(5)} ${dtype.padEnd(5)} ${o.threads} thread(s): first token ${r.ttftMs} ms, decode ${r.decodeTokPerSec} tok/s (${r.decodeTokPerSecMin}–${r.decodeTokPerSecMax}), ${r.decodeCpuMsPerToken} CPU ms/token`);
    }
  }
  await llama.dispose();
  return { rows };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const opts: LlamaCppBenchOptions = {
    models: (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[],
    dtypes: (arg('dtypes') ?? 'f32,q8_0').split(',') as GgufDtype[],
    promptTokens: Number(arg('prompt') ?? 64),
    newTokens: Number(arg('tokens') ?? 128),
    threads: Number(arg('threads') ?? 1),
    rounds: Number(arg('rounds') ?? 3),
    log: (line) => console.log(line),
  };
  const load = () => loadavg().map((l) => +l.toFixed(2));
  console.log(`llama.cpp bench (node-llama-cpp ${NODE_LLAMA_CPP_VERSION}): models ${opts.models.join(', ')}; ${opts.dtypes.join(', ')}; prompt ${opts.promptTokens}, ${opts.newTokens} new; ${opts.threads} thread(s); ${opts.rounds} rounds; load average ${load().join(' ')}`);
  const res = await llamaCppDecodeBench(opts);
  if (!res.rows) console.log(`skipped: ${res.reason}`);
  console.log(JSON.stringify({ bench: 'llamacpp', loadavg: load(), ...(res.rows ? { results: res.rows } : { skipped: res.reason }) }));
}
