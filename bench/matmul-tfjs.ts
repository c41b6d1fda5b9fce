// The wasm tier's matmul against TensorFlow.js's WebAssembly backend (XNNPACK, SIMD, one thread — its
// threaded build does not run in Node) on the GPT-2 training shapes of issue 6, in one run so the
// machine's load is shared. Run: npx tsx bench/matmul-tfjs.ts [--quick]. Last stdout line: JSON summary.
import * as tf from '@tensorflow/tfjs-core';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { loadavg } from 'node:os';
import { Bench } from 'tinybench';
import { getPool } from '../src/kernels/pool.js';
import { createWasmKernels } from '../src/kernels/wasm/index.js';
import { sharedArena } from '../src/tensor/arena.js';

const quick = process.argv.includes('--quick');
/** (M, K, N): c(M,N) = a(M,K)·op(b); 256 = batch·sequence rows, 768/3072/50257 = GPT-2 small widths. */
const SHAPES: [number, number, number][] = quick
  ? [[256, 768, 768]]
  : [[256, 768, 768], [256, 768, 3072], [256, 3072, 768], [256, 768, 50257]];

setThreadsCount(1);
await tf.setBackend('wasm');
await tf.ready();

const arena = sharedArena();
const ours = [1, 2].map((threads) => createWasmKernels({ threads, arena }));
await getPool(2).ready(); // worker start-up is not part of the timings

interface Row {
  shape: string;
  form: string;
  engine: string;
  /** From the median time, and from the fastest run (closer to the machine's capability when it is busy). */
  gflops: number;
  best: number;
}
const rows: Row[] = [];

for (const [M, K, N] of SHAPES) {
  for (const transB of [false, true]) {
    const form = transB ? 'A·Bᵀ' : 'A·B';
    const shape = `${M}x${K}x${N}`;
    const flop = 2 * M * K * N;
    const mark = arena.mark();
    const a = arena.f32(M * K);
    const b = arena.f32(K * N);
    const c = arena.f32(M * N);
    for (let i = 0; i < a.length; i++) a[i] = Math.sin(i);
    for (let i = 0; i < b.length; i++) b[i] = Math.cos(i);
    const ta = tf.tensor2d(a, [M, K]);
    const tb = tf.tensor2d(b, transB ? [N, K] : [K, N]);
    const big = flop > 5e9;
    const bench = new Bench({ time: big ? 0 : 400, iterations: big ? 3 : 5, warmupIterations: 1, warmupTime: 0 });
    bench.add('tfjs-wasm x1', () => tf.matMul(ta, tb, false, transB).dispose());
    for (const k of ours) bench.add(`wasm x${k.threads}`, () => k.matmul(c, a, b, M, K, N, false, transB, false));
    await bench.run();
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`${t.name} ${shape}: ${r.state}`);
      const gflops = flop / (r.latency.p50! / 1000) / 1e9;
      const best = flop / (r.latency.min / 1000) / 1e9;
      rows.push({ shape, form, engine: t.name, gflops: Math.round(gflops * 10) / 10, best: Math.round(best * 10) / 10 });
      console.log(`${shape.padEnd(14)} ${form.padEnd(5)} ${t.name.padEnd(13)} ${gflops.toFixed(1).padStart(6)} GFLOP/s median, ${best.toFixed(1).padStart(6)} best`);
    }
    ta.dispose();
    tb.dispose();
    arena.release(mark);
  }
}

const row = (shape: string, form: string, engine: string) => rows.find((r) => r.shape === shape && r.form === form && r.engine === engine)!;
const summary = rows
  .filter((r) => r.engine === 'wasm x1')
  .map((r) => {
    const [wasm2, tfjs1] = [row(r.shape, r.form, 'wasm x2'), row(r.shape, r.form, 'tfjs-wasm x1')];
    return {
      shape: r.shape,
      form: r.form,
      wasm1: r.gflops,
      wasm2: wasm2.gflops,
      tfjs1: tfjs1.gflops,
      speedup2: Math.round((wasm2.gflops / r.gflops) * 100) / 100,
      vsTfjs: Math.round((r.gflops / tfjs1.gflops) * 100) / 100,
      best: { wasm1: r.best, wasm2: wasm2.best, tfjs1: tfjs1.best },
    };
  });
console.log(JSON.stringify({ bench: 'matmul-tfjs', unit: 'GFLOP/s', loadavg: loadavg().map((l) => Math.round(l * 100) / 100), results: summary }));
