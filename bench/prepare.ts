// Data-preparation benchmark: `prepare` end to end (read, parse, render, GPT-2 tokenize, split, write
// shards) on the built-in sensor-log corpus (numeric CSV) and on English prose, in MB/s of input and
// tokens/s, plus the shard loader's read rate. Inputs are generated into a temp dir (no downloads).
// Usage: npx tsx bench/prepare.ts [--scale 1] [--quick]     Last stdout line: JSON summary.
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { Bench } from 'tinybench';
import { generateDatasets, shippedTextDir } from '../src/data/generate/index.js';
import { ShardLoader } from '../src/data/loader.js';
import { prepare } from '../src/data/prepare.js';
import type { SourceSpec } from '../src/data/sources.js';
import { gpt2 } from '../src/tokenizer/index.js';

const quick = process.argv.includes('--quick');
const scaleArg = process.argv.indexOf('--scale');
const scale = scaleArg >= 0 ? Number(process.argv[scaleArg + 1]) : quick ? 0.25 : 1;
const dir = fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-bench-prepare-'));
generateDatasets({ out: dir, seed: 1, scale });

// English: the shipped prose, made into ~1 MB of distinct documents (numbered copies) at scale 1.
const prose = fs.readFileSync(path.join(shippedTextDir(), 'prose.txt'), 'utf8').split('\n---\n');
const proseFile = path.join(dir, 'prose.txt');
const copies = Math.max(1, Math.round(110 * scale));
fs.writeFileSync(proseFile, Array.from({ length: copies }, (_, i) => prose.map((d) => `${i}. ${d}`).join('\n---\n')).join('\n---\n'));

const tok = gpt2();
const cases: { name: string; inputs: SourceSpec[] }[] = [
  {
    name: 'sensor-logs',
    inputs: ['gesture_stream.csv', 'robot_stream.csv'].map((f) => ({ path: path.join(dir, 'sensor-logs', f), format: 'sensor' as const, sensor: { window: 16 } })),
  },
  { name: 'prose', inputs: [{ path: proseFile, format: 'text' as const, separator: '---' }] },
];

const bench = new Bench({ iterations: quick ? 1 : 3, time: 0, warmupIterations: 1, warmupTime: 0 });
const inputMB: Record<string, number> = {};
const tokens: Record<string, number> = {};
for (const c of cases) {
  inputMB[c.name] = c.inputs.reduce((a, s) => a + fs.statSync(s.path).size, 0) / 1e6;
  bench.add(c.name, async () => {
    const m = await prepare({ inputs: c.inputs, out: path.join(dir, 'out'), name: c.name, tokenizer: tok, tokenizerName: 'gpt2', progress: false, force: true }); // each round replaces the last
    tokens[c.name] = m.splits.train.tokens + m.splits.val.tokens;
  });
}
await bench.run();
const results: Record<string, { inputMB: number; tokens: number; ms: number; MBps: number; tokensPerSec: number }> = {};
for (const t of bench.tasks) {
  const ms = t.result && 'latency' in t.result ? t.result.latency.mean : NaN;
  const r = { inputMB: +inputMB[t.name].toFixed(2), tokens: tokens[t.name], ms: Math.round(ms), MBps: +(inputMB[t.name] / (ms / 1000)).toFixed(2), tokensPerSec: Math.round(tokens[t.name] / (ms / 1000)) };
  results[t.name] = r;
  console.log(`${t.name}: ${r.inputMB} MB → ${r.tokens} tokens in ${r.ms} ms: ${r.MBps} MB/s, ${r.tokensPerSec} tokens/s`);
}

// Loader: shuffled (B=8, T=256) batches read from the sensor shards.
const loader = new ShardLoader({ pattern: path.join(dir, 'out', 'sensor-logs_train'), B: 8, T: 256, seed: 1 });
const n = quick ? 200 : 1000;
const t0 = performance.now();
for (let i = 0; i < n; i++) loader.next();
const loaderTokensPerSec = Math.round((n * 8 * 256) / ((performance.now() - t0) / 1000));
loader.close();
console.log(`loader: ${loaderTokensPerSec} tokens/s (B=8, T=256, shuffled)`);
fs.rmSync(dir, { recursive: true, force: true });

console.log(JSON.stringify({ bench: 'prepare', scale, results, loaderTokensPerSec, loadavg: loadavg()[0], note: 'shared 2-core machine; timings are noisy' }));
