// Matmul GFLOP/s of every registered kernel tier at 1 thread and at all cores, on the GPT-2 shapes
// (M,K,N) of issue 2, in the forward form llm.c uses (out = inp·Wᵀ); `--forms` adds the two backward
// forms (A·B for dinp, Aᵀ·B for dweight). ref runs only on the small shapes (it is the slow oracle).
// Arrays live in the shared arena, so the pool splits calls. Timings on a shared machine are noisy:
// the load average is printed with the results.
// Run: npx tsx bench/matmul.ts [--quick] [--forms]. Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { Bench } from 'tinybench';
import { availableTiers, createKernels, defaultThreads, getPool } from '../src/kernels/index.js';
import { sharedArena } from '../src/tensor/arena.js';

const quick = process.argv.includes('--quick');
const allForms = process.argv.includes('--forms');

type Shape = [number, number, number];
const BIG: Shape[] = [[256, 768, 768], [256, 768, 3072], [256, 3072, 768]];
const SHAPES: Shape[] = quick ? [[256, 768, 768], [1, 768, 3072]] : [...BIG, [1, 768, 3072], [256, 768, 50257]];
/** ref (plain triple loop) is only timed up to this many multiply-adds. */
const REF_MAX_MACS = 256 * 768 * 768;
const FORMS = allForms
  ? ([['A·Bᵀ', false, true], ['A·B', false, false], ['Aᵀ·B', true, false]] as const)
  : ([['A·Bᵀ', false, true]] as const);

const cores = defaultThreads();
const threadCounts = [...new Set([1, cores])];
console.log(`matmul bench: tiers ${availableTiers().join(', ')}; threads ${threadCounts.join(' and ')}; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const t0 = performance.now();
const pool = cores > 1 ? getPool(cores) : undefined;
await pool?.ready();
const poolStartMs = performance.now() - t0;

const arena = sharedArena();
interface Row {
  tier: string;
  threads: number;
  shape: string;
  form: string;
  gflops: number;
  ms: number;
}
const rows: Row[] = [];

for (const [M, K, N] of SHAPES) {
  const mark = arena.mark();
  const a = arena.f32(M * K);
  const b = arena.f32(K * N);
  const c = arena.f32(M * N);
  for (let i = 0; i < a.length; i++) a[i] = Math.random() - 0.5;
  for (let i = 0; i < b.length; i++) b[i] = Math.random() - 0.5;
  const macs = M * K * N;
  // at least 3 timed calls and 0.3 s per task, median latency: short calls get many samples, so a slow
  // patch of the shared host cannot decide a small shape's figure (2 calls gave 1.4–1.9x for the same code)
  const iterations = Math.max(3, Math.min(50, Math.round(1.5e9 / (4 * 2 * macs))));
  for (const tier of availableTiers()) {
    if (tier === 'ref' && macs > REF_MAX_MACS) continue;
    for (const threads of tier === 'ref' ? [1] : threadCounts) {
      const k = createKernels(tier, { threads });
      for (const [form, tA, tB] of FORMS) {
        // the stored layouts: a (M,K) or (K,M); b (K,N) or (N,K): same sizes, so the buffers serve every form
        const bench = tier === 'ref'
          ? new Bench({ iterations: 1, time: 0, warmupIterations: 1, warmupTime: 0 })
          : new Bench({ iterations, time: 300, warmupIterations: 3, warmupTime: 0 });
        bench.add(`${tier}/${threads}`, () => k.matmul(c, a, b, M, K, N, tA, tB, false));
        await bench.run();
        const r = bench.tasks[0].result;
        if (r.state !== 'completed') throw new Error(`bench ${tier}/${threads} ${M}x${K}x${N}: ${r.state}`);
        const ms = r.latency.p50;
        const gflops = (2 * macs) / (ms * 1e6);
        rows.push({ tier, threads, shape: `${M}x${K}x${N}`, form, gflops: +gflops.toFixed(3), ms: +ms.toFixed(2) });
        console.log(`${`${M}x${K}x${N}`.padEnd(15)} ${form.padEnd(5)} ${tier.padEnd(5)} ${String(threads).padStart(2)} thr  ${gflops.toFixed(2).padStart(7)} GFLOP/s  ${ms.toFixed(1).padStart(9)} ms`);
      }
    }
  }
  arena.release(mark);
}

const find = (tier: string, threads: number, shape: string, form: string) =>
  rows.find((r) => r.tier === tier && r.threads === threads && r.shape === shape && r.form === form)?.gflops;
const ratios: Record<string, number> = {};
for (const { shape, form } of rows.filter((r) => r.tier === 'ref')) {
  for (const tier of availableTiers().filter((t) => t !== 'ref')) {
    const fast = find(tier, 1, shape, form);
    const slow = find('ref', 1, shape, form);
    if (fast && slow) ratios[`${tier}/ref ${shape} ${form}`] = +(fast / slow).toFixed(2);
  }
}
if (cores > 1) {
  for (const r of rows.filter((x) => x.threads === 1 && x.tier !== 'ref')) {
    const par = find(r.tier, cores, r.shape, r.form);
    if (par) ratios[`${r.tier} ${cores}t/1t ${r.shape} ${r.form}`] = +(par / r.gflops).toFixed(2);
  }
}
const bigShapes = BIG.map(([M, K, N]) => `${M}x${K}x${N}`);
const jsBig1 = rows.filter((r) => r.tier === 'js' && r.threads === 1 && bigShapes.includes(r.shape)).map((r) => r.gflops);
const jsBigN = rows.filter((r) => r.tier === 'js' && r.threads === cores && bigShapes.includes(r.shape)).map((r) => r.gflops);
for (const [k, v] of Object.entries(ratios)) console.log(`${k.padEnd(48)} ${v}x`);
console.log(
  JSON.stringify({
    bench: 'matmul',
    threads: cores,
    loadavg: loadavg().map((l) => +l.toFixed(2)),
    poolStartMs: +poolStartMs.toFixed(1),
    jsMinGflopsBigShapes1Thread: jsBig1.length ? Math.min(...jsBig1) : null,
    jsMinGflopsBigShapesAllThreads: cores > 1 && jsBigN.length ? Math.min(...jsBigN) : null,
    results: rows,
    ratios,
  }),
);
