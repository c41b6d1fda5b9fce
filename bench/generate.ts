// Decoding with the deployment runtime as users run it (plain node on the compiled dist/, which this bench builds
// first): for GPT-2 30M and 124M (random init, no download) exported to .tllm as f32 and int8, per kernel tier and
// thread count: time to first token (64-token prompt), decode tokens/s (batch 1, 128 new, greedy), peak RSS and file
// size. Each measurement runs in a fresh child process (bench/lib/decode-child.mjs, so peak RSS is that run's alone),
// several rounds; medians with min–max spread, and int8/f32 ratios from the same run. Load average is printed.
// Then llama.cpp (bench/llamacpp.ts, when node-llama-cpp is installed) on our GGUF export of the same models, F32
// and Q8_0, at each of --llamacpp-threads; ratios ours/llama.cpp at equal threads, and each at its fastest thread
// count on this machine (llama.cpp is not always fastest on all cores); a skip line otherwise.
// Run: npx tsx bench/generate.ts [--models 30M,124M] [--formats f32,int8] [--kernels wasm (the fastest; wasm,js for both)] [--prompt 64]
//      [--tokens 128] [--rounds 3] [--threads 1,N] [--group 64] [--llamacpp-threads 1,N]   (N = all cores)
// Last stdout line: one JSON summary object.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportTllm } from '../src/export/deploy.js';
import type { Int8Group } from '../src/export/quantize.js';
import { availableTiers, defaultThreads } from '../src/kernels/index.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import type { LlamaCppRow } from './llamacpp.js';
import { arg, median } from './lib/args.js';

const PROMPT = Number(arg('prompt') ?? 64);
const TOKENS = Number(arg('tokens') ?? 128);
/** A comma-separated thread list; default 1 and all cores. */
const threadList = (v: string | undefined) => [...new Set((v ?? `1,${defaultThreads()}`).split(',').map(Number))];

interface Sample {
  ttftMs: number;
  decodeTokPerSec: number;
  /** CPU time (all threads) per decoded token: steadier than wall time on a loaded machine. */
  decodeCpuMsPerToken: number;
  peakRssMB: number;
}

interface Row {
  model: GPT2PresetName;
  format: 'f32' | 'int8';
  tier: string;
  threads: number;
  group?: number;
  fileMB: number;
  ttftMs: Spread;
  decodeTokPerSec: Spread;
  decodeCpuMsPerToken: Spread;
  peakRssMB: Spread;
}
type Spread = { median: number; min: number; max: number };

async function main(): Promise<void> {
  const models = (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[];
  const formats = (arg('formats') ?? 'f32,int8').split(',') as ('f32' | 'int8')[];
  const tiers = (arg('kernels') ?? (availableTiers().at(-1) as string)).split(','); // the fastest tier; e.g. --kernels wasm,js for both
  const rounds = Number(arg('rounds') ?? 3);
  const group = Number(arg('group') ?? 64) as Int8Group;
  const threads = threadList(arg('threads'));
  const llamaThreads = threadList(arg('llamacpp-threads'));
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' }); // the dist/ the children run
  const childScript = path.join(root, 'bench', 'lib', 'decode-child.mjs');
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'bench-generate-'));
  console.log(`generate bench (plain node on dist/): models ${models.join(', ')}; ${formats.join(', ')}; tiers ${tiers.join(', ')}; prompt ${PROMPT}, decode ${TOKENS}; threads ${threads.join(', ')}; ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const rows: Row[] = [];
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
        for (const th of threads) {
          for (const [format, file] of files) {
            const samples: Sample[] = [];
            for (let r = 0; r < rounds; r++) {
              const out = execFileSync(process.execPath, [childScript, file, tier, String(th), String(PROMPT), String(TOKENS)], { encoding: 'utf8' });
              samples.push(JSON.parse(out.trim().split('\n').at(-1) as string) as Sample);
            }
            const pick = (k: keyof Sample): Spread => ({ median: median(samples.map((x) => x[k])), min: Math.min(...samples.map((x) => x[k])), max: Math.max(...samples.map((x) => x[k])) });
            const row: Row = {
              model: name, format, tier, threads: th, ...(format === 'int8' ? { group } : {}),
              fileMB: +(fs.statSync(file).size / 1e6).toFixed(1),
              ttftMs: pick('ttftMs'), decodeTokPerSec: pick('decodeTokPerSec'), decodeCpuMsPerToken: pick('decodeCpuMsPerToken'), peakRssMB: pick('peakRssMB'),
            };
            rows.push(row);
            console.log(`${name.padEnd(5)} ${format.padEnd(5)} ${tier.padEnd(5)} ${th} thr  file ${String(row.fileMB).padStart(6)} MB  TTFT ${row.ttftMs.median.toFixed(0).padStart(6)} ms  decode ${row.decodeTokPerSec.median.toFixed(1).padStart(6)} tok/s (${row.decodeTokPerSec.min}–${row.decodeTokPerSec.max}), ${row.decodeCpuMsPerToken.median} CPU ms/token  peak RSS ${row.peakRssMB.median} MB`);
          }
          const q = rows.find((r) => r.model === name && r.tier === tier && r.threads === th && r.format === 'int8');
          const f = rows.find((r) => r.model === name && r.tier === tier && r.threads === th && r.format === 'f32');
          if (q && f) {
            const r = {
              model: name, tier, threads: th,
              decodeInt8OverF32: +(q.decodeTokPerSec.median / f.decodeTokPerSec.median).toFixed(2),
              decodeCpuF32OverInt8: +(f.decodeCpuMsPerToken.median / q.decodeCpuMsPerToken.median).toFixed(2),
              ttftInt8OverF32: +(q.ttftMs.median / f.ttftMs.median).toFixed(2),
            };
            ratios.push(r);
            console.log(`${name.padEnd(5)} ${tier.padEnd(5)} ${th} thr  int8/f32: decode ${r.decodeInt8OverF32}x (by CPU time ${r.decodeCpuF32OverInt8}x), time to first token ${r.ttftInt8OverF32}x`);
          }
        }
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const { llamaCppDecodeBench } = await import('./llamacpp.js');
  const llama: LlamaCppRow[] = [];
  let skipped: string | null = null;
  for (const th of llamaThreads) {
    const r = await llamaCppDecodeBench({ models, dtypes: ['f32', 'q8_0'], promptTokens: PROMPT, newTokens: TOKENS, threads: th, rounds, log: (line) => console.log(line) });
    if (!r.rows) {
      skipped = r.reason;
      console.log(`llama.cpp rows skipped: ${r.reason}`);
      break;
    }
    llama.push(...r.rows);
  }
  const ourFormat = (dtype: string) => (dtype === 'q8_0' ? 'int8' : 'f32');
  const compare = (o: Row, l: LlamaCppRow, what: string) => {
    const r = {
      model: l.model, tier: o.tier, ours: o.format, llamacpp: l.dtype, oursThreads: o.threads, llamacppThreads: l.threads, what,
      decodeOursOverLlamaCpp: +(o.decodeTokPerSec.median / l.decodeTokPerSec).toFixed(2),
      // speed by CPU time: llama.cpp's CPU ms per token over ours (> 1 = ours faster)
      decodeCpuLlamaCppOverOurs: +(l.decodeCpuMsPerToken / o.decodeCpuMsPerToken.median).toFixed(2),
    };
    ratios.push(r);
    console.log(`${l.model.padEnd(5)} ${o.tier.padEnd(5)} ours ${r.ours} (${o.threads} thr, ${o.decodeTokPerSec.median.toFixed(1)} tok/s) / llama.cpp ${l.dtype} (${l.threads} thr, ${l.decodeTokPerSec} tok/s), ${what}: decode ${r.decodeOursOverLlamaCpp}x (by CPU time ${r.decodeCpuLlamaCppOverOurs}x)`);
  };
  for (const l of llama) {
    for (const o of rows.filter((r) => r.model === l.model && r.format === ourFormat(l.dtype) && r.threads === l.threads)) compare(o, l, 'equal threads');
  }
  // each engine at its fastest thread count here
  for (const model of models) {
    for (const dtype of ['f32', 'q8_0']) {
      const l = llama.filter((x) => x.model === model && x.dtype === dtype).sort((a, b) => b.decodeTokPerSec - a.decodeTokPerSec)[0];
      if (!l) continue;
      for (const tier of tiers) {
        const o = rows.filter((r) => r.model === model && r.tier === tier && r.format === ourFormat(dtype)).sort((a, b) => b.decodeTokPerSec.median - a.decodeTokPerSec.median)[0];
        if (o) compare(o, l, 'each at its fastest');
      }
    }
  }
  console.log(JSON.stringify({ bench: 'generate', runtime: 'node dist/', prompt: PROMPT, tokens: TOKENS, threads, rounds, loadavg: loadavg().map((l) => +l.toFixed(2)), results: rows, llamacpp: skipped === null ? llama : { skipped }, ratios }));
}

await main();
