// Where one decoded token goes in the int8 runtime, and what bounds it: the kernels timed one by one inside a real
// decode (GPT-2 124M or 30M, random init, int8 groups of 64, 1 thread by default), the same int8 matmuls again on
// weights that stay in cache, and a plain WebAssembly SIMD read of as many bytes as the model's int8 weights from
// memory. Decode time close to the matmul time on streamed weights and far above the in-cache time means the decode
// is bound by streaming the weights. Medians of --rounds.
// Run: npx tsx bench/decode-profile.ts [--model 124M] [--threads 1] [--tokens 64] [--rounds 3]
// Last stdout line: one JSON summary object.
import * as fs from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { exportTllm } from '../src/export/deploy.js';
import { getKernels, setKernels } from '../src/kernels/index.js';
import { int8MatmulFor } from '../src/kernels/int8.js';
import { i32, i32x4, ModuleBuilder, v128 } from '../src/kernels/wasm/emitter.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import type { Int8Matrix } from '../src/models/gpt2/matrix.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { argmax } from '../src/models/gpt2/sampling.js';
import { Decoder, loadModel } from '../src/runtime/index.js';
import type { Kernels } from '../src/kernels/types.js';
import { arg, median } from './lib/args.js';

const name = (arg('model') ?? '124M') as GPT2PresetName;
const threads = Number(arg('threads') ?? 1);
const TOKENS = Number(arg('tokens') ?? 64);
const rounds = Number(arg('rounds') ?? 3);
const dir = fs.mkdtempSync(path.join(tmpdir(), 'bench-decode-profile-'));
const file = path.join(dir, `${name}-int8.tllm`);
const config = presetConfig(name);
const src = new GPT2(config, { seed: 1 });
exportTllm(file, config, new Map(src.params.names().map((n) => [n, src.params.get(n) as Float32Array])), { scheme: { weights: 'int8', embedding: 'int8', group: 64 }, tokenizer: 'gpt2' });
setKernels('wasm', { threads });
const model = loadModel(file);
fs.rmSync(dir, { recursive: true, force: true });
console.log(`decode profile: ${name} int8 (g64), wasm × ${threads} thread(s), ${TOKENS} tokens after a 64-token prompt, ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

// 1. a real decode with each kernel call timed
const kernels = getKernels();
const timed = new Map<string, number>();
const probe = new Proxy(kernels, {
  get(target, key, receiver) {
    const v = Reflect.get(target, key, receiver);
    if (typeof v !== 'function' || typeof key !== 'string') return v;
    return (...args: unknown[]) => {
      const t = performance.now();
      const r = (v as (...a: unknown[]) => unknown).apply(target, args);
      timed.set(key, (timed.get(key) ?? 0) + performance.now() - t);
      return r;
    };
  },
}) as Kernels;
const perToken: number[] = [];
const byKernel = new Map<string, number[]>();
for (let r = 0; r < rounds; r++) {
  const dec = new Decoder(model, { capacity: 64 + TOKENS + 1, kernels: probe });
  let next = argmax(dec.feed(Array.from({ length: 64 }, (_, i) => (i * 7919) % config.vocabSize)));
  timed.clear();
  const t0 = performance.now();
  for (let i = 0; i < TOKENS; i++) next = argmax(dec.feed([next]));
  perToken.push((performance.now() - t0) / TOKENS);
  for (const [k, ms] of timed) byKernel.set(k, [...(byKernel.get(k) ?? []), ms / TOKENS]);
}
const decodeMs = median(perToken);
const kernelMs = Object.fromEntries([...byKernel].map(([k, v]) => [k, +median(v).toFixed(3)]).sort((a, b) => (b[1] as number) - (a[1] as number)));
console.log(`decode: ${decodeMs.toFixed(2)} ms/token (${(1000 / decodeMs).toFixed(1)} tok/s); kernels per token: ${Object.entries(kernelMs).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);

// 2. the same int8 matmuls, each repeated on its own weights (cache-resident for a block's matrices)
const mm = int8MatmulFor(kernels);
const C = config.nEmbd;
const x = new Float32Array(4 * C).map((_, i) => Math.sin(i));
const out = new Float32Array(Math.max(4 * C, config.vocabSize));
const b0 = model.weights.blocks[0];
const shapes: [string, Int8Matrix, number, number, number][] = [
  ['qkv', b0.qkvw as Int8Matrix, C, 3 * C, config.nLayer],
  ['attn proj', b0.attprojw as Int8Matrix, C, C, config.nLayer],
  ['mlp fc', b0.fcw as Int8Matrix, C, 4 * C, config.nLayer],
  ['mlp proj', b0.fcprojw as Int8Matrix, 4 * C, C, config.nLayer],
  ['lm head', model.weights.wte as Int8Matrix, C, config.vocabSize, 1],
];
let inCacheMs = 0;
const hot: Record<string, number> = {};
for (const [label, w, K, N, count] of shapes) {
  const reps = Math.max(5, Math.round(2e9 / (K * N)));
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    mm(out, x.subarray(0, K), w.q, w.scales, 1, K, N, w.block);
    const t = performance.now();
    for (let i = 0; i < reps; i++) mm(out, x.subarray(0, K), w.q, w.scales, 1, K, N, w.block);
    samples.push((performance.now() - t) / reps);
  }
  hot[label] = +median(samples).toFixed(4);
  inCacheMs += median(samples) * count;
}
const int8Bytes = shapes.reduce((s, [, , K, N, count]) => s + K * N * count, 0);
console.log(`int8 matmuls of one token on repeated (cached) weights: ${inCacheMs.toFixed(2)} ms (${(int8Bytes / inCacheMs / 1e6).toFixed(1)} GB/s of weights); per call: ${Object.entries(hot).map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
const streamedMs = kernelMs.matmulInt8 ?? NaN;
console.log(`int8 matmuls inside the decode (weights streamed): ${streamedMs} ms/token (${(int8Bytes / streamedMs / 1e6).toFixed(1)} GB/s of weights)`);

// 3. a plain WebAssembly SIMD read of int8Bytes bytes: the memory bandwidth one thread gets
const m = new ModuleBuilder();
m.importMemory({ module: 'env', name: 'memory', min: 1 });
m.func('sum', { p: 'i32', end: 'i32', out: 'i32' }, 'none', (f, q) => {
  const acc = [0, 1, 2, 3].map(() => f.local('v128'));
  const k = f.local('i32');
  f.for(k, q.p, q.end, 64, () => acc.forEach((a, j) => f.set(a, i32x4.add(a, v128.load(k, 16 * j)))));
  acc.forEach((a, j) => f.emit(v128.store(q.out, a, 16 * j)));
});
const mem = new WebAssembly.Memory({ initial: Math.ceil((int8Bytes + 65536) / 65536) + 1 });
new Uint8Array(mem.buffer).fill(1);
const inst = new WebAssembly.Instance(m.compile(), { env: { memory: mem } }) as unknown as { exports: { sum: (p: number, end: number, out: number) => void } };
const end = 64 + Math.floor(int8Bytes / 64) * 64;
const reads: number[] = [];
for (let r = 0; r < rounds + 1; r++) {
  const t = performance.now();
  inst.exports.sum(64, end, 0);
  if (r > 0) reads.push((performance.now() - t));
}
const readMs = median(reads);
console.log(`plain SIMD read of ${(int8Bytes / 1e6).toFixed(1)} MB: ${readMs.toFixed(2)} ms (${(int8Bytes / readMs / 1e6).toFixed(1)} GB/s)`);
console.log(JSON.stringify({
  bench: 'decode-profile', model: name, threads, tokens: TOKENS, rounds, loadavg: loadavg().map((l) => +l.toFixed(2)),
  decodeMsPerToken: +decodeMs.toFixed(3), kernelMsPerToken: kernelMs, int8MatmulInCacheMs: +inCacheMs.toFixed(3),
  int8WeightBytes: int8Bytes, streamedGBps: +(int8Bytes / streamedMs / 1e6).toFixed(2), inCacheGBps: +(int8Bytes / inCacheMs / 1e6).toFixed(2),
  plainReadGBps: +(int8Bytes / readMs / 1e6).toFixed(2),
}));
