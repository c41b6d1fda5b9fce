// Load test of `tinyllm serve` on loopback only: N concurrent clients for a bounded time send a seeded mix of
// completions, streamed chat completions, classifications, malformed requests (bad JSON, wrong types, unknown
// routes, wrong methods) and oversized bodies; reports requests/s, p50/p99 latency per kind, outcomes by kind
// (ok, refused as expected, 503 busy, unexpected status, connection errors) and whether the server is still
// healthy afterwards (and exits 0 on SIGTERM). Exit code 1 if anything unexpected happened.
// Run: npx tsx bench/serve-load.ts [--model m.tllm] [--clients 8] [--seconds 10] [--max-tokens 16] [--queue 4]
//      [--quick]   (default model: a random 2-layer, 64-wide GPT-2 with the GPT-2 tokenizer, int8)
// Last stdout line: one JSON summary object.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportTllm } from '../src/export/deploy.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { Rng } from '../src/util/rng.js';
import { arg } from './lib/args.js';

export type Kind = 'completion' | 'chat-stream' | 'classify' | 'malformed' | 'oversized';
export type Outcome = 'ok' | 'refused' | 'busy' | 'unexpected' | 'network';

/** Share of each kind of request in the mix. */
const MIX: [Kind, number][] = [
  ['completion', 0.5],
  ['chat-stream', 0.2],
  ['classify', 0.1],
  ['malformed', 0.15],
  ['oversized', 0.05],
];

export interface LoadOptions {
  clients: number;
  seconds: number;
  maxTokens: number;
  /** Bytes of an oversized body (more than the server's --max-body). */
  oversizedBytes: number;
  seed?: number;
}

export interface LoadSummary {
  requests: number;
  seconds: number;
  requestsPerSec: number;
  /** Outcome counts per kind of request. */
  outcomes: Record<Kind, Record<Outcome, number>>;
  /** Latency percentiles (ms) of the requests that got their expected answer, per kind. */
  latencyMs: Partial<Record<Kind, { p50: number; p99: number; n: number }>>;
  /** A few unexpected answers, for the report. */
  samples: string[];
  healthyAfter: boolean;
}

const MALFORMED: (() => { path: string; method: string; body?: string; type?: string })[] = [
  () => ({ path: '/v1/completions', method: 'POST', body: '{"prompt": "a", ' }),
  () => ({ path: '/v1/completions', method: 'POST', body: '{"prompt": "a", "max_tokens": "many"}' }),
  () => ({ path: '/v1/completions', method: 'POST', body: '{"prompt": 12}' }),
  () => ({ path: '/v1/chat/completions', method: 'POST', body: '{"messages": [{"role": "robot", "content": "x"}]}' }),
  () => ({ path: '/v1/completions', method: 'POST', body: '{"prompt": "a", "max_tokens": 100000000}' }),
  () => ({ path: '/v1/classify', method: 'POST', body: '{"input": "x", "labels": ["a", "a"]}' }),
  () => ({ path: '/v1/completions', method: 'POST', body: '"just a string"' }),
  () => ({ path: '/v1/completions', method: 'POST', body: 'prompt=a', type: 'application/x-www-form-urlencoded' }),
  () => ({ path: '/v2/anything', method: 'GET' }),
  () => ({ path: '/v1/completions', method: 'GET' }),
  () => ({ path: '/health', method: 'DELETE' }),
];

function pick(rng: Rng): Kind {
  let r = rng.random();
  for (const [k, p] of MIX) {
    if ((r -= p) < 0) return k;
  }
  return 'completion';
}

function percentile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : NaN;
}

async function post(url: string, body: string, type = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'Content-Type': type }, body });
}

/** One request of the given kind; returns its outcome. */
async function request(base: string, kind: Kind, rng: Rng, o: LoadOptions, note: (s: string) => void): Promise<Outcome> {
  const expect = async (r: Response, good: (status: number) => boolean): Promise<Outcome> => {
    const text = await r.text();
    if (good(r.status)) return r.status === 200 ? 'ok' : 'refused';
    if (r.status === 503) return 'busy';
    note(`${kind}: ${r.status} ${text.slice(0, 160)}`);
    return 'unexpected';
  };
  const seed = rng.int(1 << 30);
  switch (kind) {
    case 'completion':
      return expect(await post(`${base}/v1/completions`, JSON.stringify({ prompt: `Sensor log ${seed}:`, max_tokens: o.maxTokens, seed })), (s) => s === 200);
    case 'chat-stream': {
      const r = await post(`${base}/v1/chat/completions`, JSON.stringify({ messages: [{ role: 'user', content: `reading ${seed}` }], max_tokens: o.maxTokens, seed, stream: true }));
      if (r.status !== 200) return expect(r, () => false);
      const text = await r.text();
      if (!text.endsWith('data: [DONE]\n\n')) {
        note(`chat-stream: ended without [DONE]: …${text.slice(-80)}`);
        return 'unexpected';
      }
      return 'ok';
    }
    case 'classify':
      return expect(await post(`${base}/v1/classify`, JSON.stringify({ input: `ax=${seed % 97}`, labels: ['left', 'right', 'up'] })), (s) => s === 200);
    case 'malformed': {
      const m = MALFORMED[rng.int(MALFORMED.length)]();
      const r = await fetch(`${base}${m.path}`, { method: m.method, ...(m.body !== undefined ? { body: m.body, headers: { 'Content-Type': m.type ?? 'application/json' } } : {}) });
      return expect(r, (s) => s >= 400 && s < 500);
    }
    case 'oversized':
      return expect(await post(`${base}/v1/completions`, JSON.stringify({ prompt: 'x'.repeat(o.oversizedBytes) })), (s) => s === 413);
  }
}

/** Runs the mixed load against a server on loopback. */
export async function runLoad(base: string, o: LoadOptions): Promise<LoadSummary> {
  const host = new URL(base).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) throw new Error(`the load test runs on loopback only, not ${host}`);
  const kinds = MIX.map(([k]) => k);
  const outcomes = Object.fromEntries(kinds.map((k) => [k, { ok: 0, refused: 0, busy: 0, unexpected: 0, network: 0 }])) as LoadSummary['outcomes'];
  const times = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<Kind, number[]>;
  const samples: string[] = [];
  const note = (s: string) => samples.length < 10 && samples.push(s);
  const t0 = performance.now();
  const deadline = t0 + o.seconds * 1000;
  let requests = 0;
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      const rng = new Rng((o.seed ?? 1) * 1000 + c);
      while (performance.now() < deadline) {
        const kind = pick(rng);
        const start = performance.now();
        let outcome: Outcome;
        try {
          outcome = await request(base, kind, rng, o, note);
        } catch (e) {
          note(`${kind}: ${(e as Error).message} ${String((e as { cause?: unknown }).cause ?? '')}`);
          outcome = 'network';
        }
        requests++;
        outcomes[kind][outcome]++;
        if (outcome === 'ok' || outcome === 'refused') times[kind].push(performance.now() - start);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const latencyMs: LoadSummary['latencyMs'] = {};
  for (const k of kinds) {
    const s = times[k].sort((a, b) => a - b);
    if (s.length) latencyMs[k] = { p50: +percentile(s, 0.5).toFixed(1), p99: +percentile(s, 0.99).toFixed(1), n: s.length };
  }
  let healthyAfter = false;
  try {
    const h = (await (await fetch(`${base}/health`)).json()) as { status: string };
    const r = await post(`${base}/v1/completions`, JSON.stringify({ prompt: 'still there?', max_tokens: 2 }));
    healthyAfter = h.status === 'ok' && r.status === 200;
  } catch (e) {
    note(`health after: ${(e as Error).message}`);
  }
  return { requests, seconds: +seconds.toFixed(2), requestsPerSec: +(requests / seconds).toFixed(1), outcomes, latencyMs, samples, healthyAfter };
}

/** Nothing unexpected: no unexpected status, no connection error, healthy afterwards. */
export function clean(s: LoadSummary): boolean {
  return s.healthyAfter && Object.values(s.outcomes).every((o) => o.unexpected === 0 && o.network === 0);
}

async function main(): Promise<void> {
  const quick = process.argv.includes('--quick');
  const clients = Number(arg('clients') ?? (quick ? 4 : 8));
  const seconds = Number(arg('seconds') ?? (quick ? 2 : 10));
  const maxTokens = Number(arg('max-tokens') ?? 16);
  const queue = Number(arg('queue') ?? 4);
  const maxBody = 65536;
  const tmp = fs.mkdtempSync(path.join(tmpdir(), 'tllm-serve-load-'));
  try {
    let file = arg('model');
    if (!file) {
      file = path.join(tmp, 'random-tiny.tllm');
      const config = { blockSize: 256, vocabSize: 50257, nLayer: 2, nHead: 2, nEmbd: 64 };
      const model = new GPT2(config, { seed: 1 });
      exportTllm(file, config, new Map(model.params.names().map((n) => [n, model.params.get(n) as Float32Array])), { scheme: { weights: 'int8', embedding: 'int8', group: 64 }, tokenizer: 'gpt2', source: { random: 'tiny', seed: 1 } });
    }
    const bin = fileURLToPath(new URL('../src/cli/bin.ts', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const child = spawn(process.execPath, ['--import', tsx, bin, 'serve', '-m', file, '--port', '0', '--queue', String(queue), '--max-body', String(maxBody), '-q'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const base = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        const m = out.match(/http:\/\/127\.0\.0\.1:\d+/);
        if (m) resolve(m[0]);
      });
      void exited.then((code) => reject(new Error(`tinyllm serve exited (${code}) before listening: ${out}`)));
    });
    console.log(`serve-load: ${path.basename(file)} at ${base}; ${clients} clients for ${seconds} s, max_tokens ${maxTokens}, --queue ${queue}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    const s = await runLoad(base, { clients, seconds, maxTokens, oversizedBytes: maxBody * 4 });
    child.kill('SIGTERM');
    const code = await exited;
    for (const [k, o] of Object.entries(s.outcomes)) console.log(`  ${k.padEnd(12)} ${JSON.stringify(o)} ${JSON.stringify(s.latencyMs[k as Kind] ?? {})}`);
    for (const line of s.samples) console.log(`  unexpected: ${line}`);
    console.log(`  ${s.requests} requests in ${s.seconds} s: ${s.requestsPerSec} requests/s; healthy afterwards: ${s.healthyAfter}; exit after SIGTERM: ${code}`);
    const ok = clean(s) && code === 0;
    console.log(JSON.stringify({ bench: 'serve-load', config: { clients, seconds, maxTokens, queue }, loadavg: loadavg().map((l) => +l.toFixed(2)), ...s, exitAfterSigterm: code, ok }));
    if (!ok) process.exitCode = 1;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
