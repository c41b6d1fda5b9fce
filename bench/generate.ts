// Decoding with the deployment runtime: for GPT-2 30M and 124M (random init, no download) exported to .tllm as f32
// and int8, per kernel tier: time to first token (64-token prompt), decode tokens/s (batch 1, 128 new, greedy),
// peak RSS and file size. Each measurement runs in a fresh child process (so peak RSS is that run's alone), several
// rounds; medians with min–max spread, and int8/f32 ratios from the same run. Load average is printed.
// Then llama.cpp (bench/llamacpp.ts, when node-llama-cpp is installed) on our GGUF export of the same models, F32
// and Q8_0, at --llamacpp-threads (default 1), with our/llama.cpp decode ratios; a skip line otherwise.
// Run: npx tsx bench/generate.ts [--models 30M,124M] [--formats f32,int8] [--kernels wasm,js] [--prompt 64]
//      [--tokens 128] [--rounds 3] [--threads N] [--group 64] [--llamacpp-threads 1]
// Last stdout line: one JSON summary object.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportTllm } from '../src/export/deploy.js';
import type { Int8Group } from '../src/export/quantize.js';
import { availableTiers, defaultThreads, setKernels } from '../src/kernels/index.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { argmax } from '../src/models/gpt2/sampling.js';
import { Decoder, loadModel } from '../src/runtime/index.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const PROMPT = Number(arg('prompt') ?? 64);
const TOKENS = Number(arg('tokens') ?? 128);
const threads = Number(arg('threads') ?? defaultThreads());

interface Sample {
  ttftMs: number;
  decodeTokPerSec: number;
  /** CPU time (all threads) per decoded token: steadier than wall time on a loaded machine. */
  decodeCpuMsPerToken: number;
  peakRssMB: number;
}

/** Child: load the file, prefill a random prompt, decode TOKENS greedily; print one JSON line. */
function child(file: string, tier: string): void {
  setKernels(tier, { threads });
  const model = loadModel(file);
  const dec = new Decoder(model, { capacity: PROMPT + TOKENS + 1 });
  const rng = new Rng(3);
  const prompt = Array.from({ length: PROMPT }, () => rng.int(model.config.vocabSize));
  const t0 = performance.now();
  let next = argmax(dec.feed(prompt));
  const t1 = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < TOKENS; i++) next = argmax(dec.feed([next]));
  const t2 = performance.now();
  const { user, system } = process.cpuUsage(cpu);
  const s: Sample = {
    ttftMs: +(t1 - t0).toFixed(1),
    decodeTokPerSec: +((TOKENS * 1000) / (t2 - t1)).toFixed(2),
    decodeCpuMsPerToken: +((user + system) / 1000 / TOKENS).toFixed(2),
    peakRssMB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  };
  console.log(JSON.stringify(s));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const models = (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[];
  const formats = (arg('formats') ?? 'f32,int8').split(',') as ('f32' | 'int8')[];
  const tiers = (arg('kernels') ?? availableTiers().filter((t) => t !== 'ref').join(',')).split(',');
  const rounds = Number(arg('rounds') ?? 3);
  const group = Number(arg('group') ?? 64) as Int8Group;
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'bench-generate-'));
  const self = fileURLToPath(import.meta.url);
  console.log(`generate bench: models ${models.join(', ')}; ${formats.join(', ')}; tiers ${tiers.join(', ')}; prompt ${PROMPT}, decode ${TOKENS}; ${threads} threads; ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const rows: Record<string, unknown>[] = [];
  const ratios: Record<string, unknown>[] = [];
  try {
    for (const name of models) {
      const config = presetConfig(name);
      const model = new GPT2(config, { seed: 1 });
      const params = new Map(model.params.names().map((n) => [n, model.params.get(n) as Float32Array]));
      const files = new Map(formats.map((f) => {
        const file = path.join(dir, `${name}-${f}.tllm`);
        exportTllm(file, config, params, { scheme: { weights: f, embedding: f, group }, tokenizer: 'gpt2' });
        return [f, file] as const;
      }));
      for (const tier of tiers) {
        const byFormat = new Map<string, { ttftMs: number; decodeTokPerSec: number; cpu: number }>();
        for (const [format, file] of files) {
          const samples: Sample[] = [];
          for (let r = 0; r < rounds; r++) {
            const out = execFileSync(process.execPath, [...process.execArgv, self, '--child', file, '--tier', tier, '--threads', String(threads), '--prompt', String(PROMPT), '--tokens', String(TOKENS)], { encoding: 'utf8' });
            samples.push(JSON.parse(out.trim().split('\n').at(-1) as string) as Sample);
          }
          const pick = (k: keyof Sample) => ({ median: median(samples.map((s) => s[k])), min: Math.min(...samples.map((s) => s[k])), max: Math.max(...samples.map((s) => s[k])) });
          const row = {
            model: name, format, tier, threads, group: format === 'int8' ? group : undefined,
            fileMB: +(fs.statSync(file).size / 1e6).toFixed(1),
            ttftMs: pick('ttftMs'), decodeTokPerSec: pick('decodeTokPerSec'), decodeCpuMsPerToken: pick('decodeCpuMsPerToken'), peakRssMB: pick('peakRssMB'),
          };
          rows.push(row);
          byFormat.set(format, { ttftMs: row.ttftMs.median, decodeTokPerSec: row.decodeTokPerSec.median, cpu: row.decodeCpuMsPerToken.median });
          console.log(`${name.padEnd(5)} ${format.padEnd(5)} ${tier.padEnd(5)} file ${String(row.fileMB).padStart(6)} MB  TTFT ${row.ttftMs.median.toFixed(0).padStart(6)} ms  decode ${row.decodeTokPerSec.median.toFixed(1).padStart(6)} tok/s (${row.decodeTokPerSec.min}–${row.decodeTokPerSec.max}), ${row.decodeCpuMsPerToken.median} CPU ms/token  peak RSS ${row.peakRssMB.median} MB`);
        }
        const q = byFormat.get('int8');
        const f = byFormat.get('f32');
        if (q && f) {
          const r = {
            model: name, tier,
            decodeInt8OverF32: +(q.decodeTokPerSec / f.decodeTokPerSec).toFixed(2),
            decodeCpuF32OverInt8: +(f.cpu / q.cpu).toFixed(2),
            ttftInt8OverF32: +(q.ttftMs / f.ttftMs).toFixed(2),
          };
          ratios.push(r);
          console.log(`${name.padEnd(5)} ${tier.padEnd(5)} int8/f32: decode ${r.decodeInt8OverF32}x (by CPU time ${r.decodeCpuF32OverInt8}x), time to first token ${r.ttftInt8OverF32}x`);
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { llamaCppDecodeBench } = await import('./llamacpp.js');
  const llamaThreads = Number(arg('llamacpp-threads') ?? 1);
  const llama = await llamaCppDecodeBench({ models, dtypes: ['f32', 'q8_0'], promptTokens: PROMPT, newTokens: TOKENS, threads: llamaThreads, rounds, log: (line) => console.log(line) });
  if (!llama.rows) console.log(`llama.cpp rows skipped: ${llama.reason}`);
  for (const l of llama.rows ?? []) {
    const ours = rows.filter((r) => r.model === l.model && r.format === (l.dtype === 'q8_0' ? 'int8' : 'f32'));
    for (const o of ours as { tier: string; decodeTokPerSec: { median: number }; decodeCpuMsPerToken: { median: number } }[]) {
      const r = {
        model: l.model, tier: o.tier, ours: l.dtype === 'q8_0' ? 'int8' : 'f32', llamacpp: l.dtype,
        decodeOursOverLlamaCpp: +(o.decodeTokPerSec.median / l.decodeTokPerSec).toFixed(2),
        // speed by CPU time: llama.cpp's CPU ms per token over ours (> 1 = ours faster)
        decodeCpuLlamaCppOverOurs: +(l.decodeCpuMsPerToken / o.decodeCpuMsPerToken.median).toFixed(2),
      };
      ratios.push(r);
      console.log(`${l.model.padEnd(5)} ${o.tier.padEnd(5)} ours ${r.ours} / llama.cpp ${l.dtype} (${llamaThreads} thread): decode ${r.decodeOursOverLlamaCpp}x (by CPU time ${r.decodeCpuLlamaCppOverOurs}x)`);
    }
  }
  console.log(JSON.stringify({ bench: 'generate', prompt: PROMPT, tokens: TOKENS, threads, rounds, loadavg: loadavg().map((l) => +l.toFixed(2)), results: rows, llamacpp: llama.rows ?? { skipped: llama.reason }, ratios }));
}

if (arg('child')) child(arg('child') as string, arg('tier') as string);
else await main();
