// Edge trade-offs of teaching a small model a user's data (issue 14): on the built-in gesture and robot-
// localization tasks with 10 %, 30 % and 100 % of the training rows, the ranking accuracy on the test split,
// the time to prepare (index or fine-tune) and the peak RSS of: the pre-trained model without and with
// retrieval (RAG, no parameter update), LoRA fine-tuning, and fine-tuning + RAG, beside the k-NN baseline.
// Every step is the real `tinyllm` subcommand in its own Node process (so its peak RSS is its own). The
// base model is pre-trained here on the built-in sensor corpus first (not counted). Each arm also runs on an
// int8 base: the base (or the fine-tuned model, tuned in f32) exported with `tinyllm export --int8` and
// evaluated on the runtime (`eval -m model.tllm`); its prepare time includes the export.
// Run: npx tsx bench/edge-tradeoffs.ts [--quick] [--out dir] [--k 4] [--key numbers|bm25]
// Last stdout line: one JSON summary object.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const has = (name: string) => process.argv.includes(`--${name}`);
function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

// child mode: run one tinyllm command, then print its peak RSS as the last line
if (has('child')) {
  const argv = JSON.parse(arg('child') as string) as string[];
  const { main } = await import('../src/cli/main.js');
  const rc = await main(argv);
  console.log(JSON.stringify({ rc, maxRssMB: process.resourceUsage().maxRSS / 1024 }));
  process.exit(rc);
}

const quick = has('quick');
const K = Number(arg('k') ?? 4);
const KEY = arg('key') ?? 'numbers';
const out = arg('out') ?? fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-edge-'));
const self = fileURLToPath(import.meta.url);
const tsx = createRequire(import.meta.url).resolve('tsx');
const S = quick
  ? { scale: 0.1, nLayer: 2, nEmbd: 64, steps: 30, ftSteps: 15, limit: 15 }
  : { scale: 1, nLayer: 4, nEmbd: 128, steps: 300, ftSteps: 150, limit: 150 };

interface Step {
  seconds: number;
  maxRssMB: number;
}

/** One tinyllm command in its own process: wall time and peak RSS; throws with its output when it fails. */
function tinyllm(args: string[]): Step {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ['--import', tsx, self, '--child', JSON.stringify(args)], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = (performance.now() - t0) / 1000;
  const last = r.stdout.trimEnd().split('\n').pop() ?? '';
  if (r.status !== 0) throw new Error(`tinyllm ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return { seconds, maxRssMB: (JSON.parse(last) as { maxRssMB: number }).maxRssMB };
}

interface EvalJson {
  ranking?: { accuracy: number };
  baselines: { name: string; classification?: { accuracy: number } }[];
  rag?: { used: number; dropped: number; shortened: number; leakedRows: number };
  rows: number;
}

function evaluate(ckpt: string, train: string, test: string, labels: string, json: string, rag?: string): { step: Step; report: EvalJson } {
  const step = tinyllm(['eval', ckpt.endsWith('.tllm') ? '-m' : '--ckpt', ckpt, '--train', train, '--test', test, '--method', 'rank', '--limit', String(S.limit), '--json', json, '--force', '--labels', labels, ...(rag ? ['--rag', rag, '--k', String(K)] : [])]);
  return { step, report: JSON.parse(fs.readFileSync(json, 'utf8')) as EvalJson };
}

interface Row {
  task: string;
  fraction: number;
  trainRows: number;
  arm: string;
  accuracy: number;
  prepareSeconds: number;
  evalSeconds: number;
  peakRssMB: number;
  /** RAG only: examples per prompt on average, and retrieved ones left out for room. */
  examplesPerPrompt?: number;
  droppedExamples?: number;
}

const load0 = loadavg();
const t0 = performance.now();
const dir = (...p: string[]) => path.join(out, ...p);
console.log(`edge trade-offs (${quick ? 'quick' : 'full'}) in ${out}; load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
const base = dir('base');
if (fs.existsSync(path.join(base, 'checkpoint.ckpt'))) console.log(`reusing the datasets and the base model in ${out} (delete it for a fresh run)`);
else {
  tinyllm(['datasets', 'generate', '--out', dir('datasets'), '--scale', String(S.scale)]);
  tinyllm(['prepare', '--preset', 'sensing', dir('datasets'), '--out', dir('data')]);
  const pre = tinyllm(['pretrain', '--data', dir('data', 'sensing_train'), '--n-layer', String(S.nLayer), '--n-head', String(S.nEmbd / 32), '--n-embd', String(S.nEmbd), '--block-size', '512', '--batch', '2', '--seq', '256', '--steps', String(S.steps), '--lr', '1e-3', '--val-every', '0', '--sample-every', '0', '--out', base, '--force']);
  console.log(`base model pre-trained in ${pre.seconds.toFixed(1)} s (${S.nLayer} layers × ${S.nEmbd}, context 512)`);
}

const rows: Row[] = [];
for (const task of ['gesture', 'robot']) {
  const all = fs.readFileSync(dir('datasets', task, 'train.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const test = dir('datasets', task, 'test.jsonl');
  const labels = [...new Set(all.map((l) => (JSON.parse(l) as { output: string }).output))].join(','); // a small share may miss a class
  for (const fraction of [0.1, 0.3, 1]) {
    const n = Math.max(3, Math.round(all.length * fraction));
    const tag = `${task}-${Math.round(fraction * 100)}`;
    const train = dir(`${tag}.jsonl`);
    fs.writeFileSync(train, all.slice(0, n).join('\n') + '\n');
    const store = dir(`${tag}.tlx`);
    const idx = tinyllm(['index', train, '-o', store, '--key', KEY, '--force']);
    const ft = dir(`${tag}-lora`);
    const tune = tinyllm(['finetune', '--from', base, '--train', train, '--val-fraction', '0', '--method', 'lora', '--steps', String(S.ftSteps), '--batch', '8', '--lr', '1e-3', '--out', ft, '--force']);
    const add = (arm: string, prep: Step | null, e: { step: Step; report: EvalJson }) => {
      rows.push({
        task,
        fraction,
        trainRows: n,
        arm,
        accuracy: e.report.ranking?.accuracy ?? NaN,
        prepareSeconds: prep?.seconds ?? 0,
        evalSeconds: e.step.seconds,
        peakRssMB: Math.max(prep?.maxRssMB ?? 0, e.step.maxRssMB),
        ...(e.report.rag ? { examplesPerPrompt: e.report.rag.used / e.report.rows, droppedExamples: e.report.rag.dropped } : {}),
      });
      return e.report;
    };
    const plain = add('pre-trained, no update', null, evaluate(base, train, test, labels, dir(`${tag}-base.json`)));
    add(`pre-trained + RAG (k=${K})`, idx, evaluate(base, train, test, labels, dir(`${tag}-base-rag.json`), store));
    add('LoRA fine-tuned', tune, evaluate(ft, train, test, labels, dir(`${tag}-lora.json`)));
    add(`LoRA + RAG (k=${K})`, { seconds: tune.seconds + idx.seconds, maxRssMB: Math.max(tune.maxRssMB, idx.maxRssMB) }, evaluate(ft, train, test, labels, dir(`${tag}-lora-rag.json`), store));
    // the same arms on an int8 base (fine-tuning itself runs in f32; its result is exported)
    const baseInt8 = dir('base-int8.tllm');
    const exportBase = fs.existsSync(baseInt8) ? null : tinyllm(['export', base, '--int8', '-o', baseInt8]);
    const ftInt8 = dir(`${tag}-lora-int8.tllm`);
    const exportFt = tinyllm(['export', ft, '--int8', '-o', ftInt8, '--force']);
    const plus = (a: Step | null, b: Step): Step => ({ seconds: (a?.seconds ?? 0) + b.seconds, maxRssMB: Math.max(a?.maxRssMB ?? 0, b.maxRssMB) });
    add('int8: pre-trained, no update', exportBase, evaluate(baseInt8, train, test, labels, dir(`${tag}-int8.json`)));
    add(`int8: pre-trained + RAG (k=${K})`, exportBase ? plus(exportBase, idx) : idx, evaluate(baseInt8, train, test, labels, dir(`${tag}-int8-rag.json`), store));
    add('int8: LoRA fine-tuned', plus(tune, exportFt), evaluate(ftInt8, train, test, labels, dir(`${tag}-lora-int8.json`)));
    add(`int8: LoRA + RAG (k=${K})`, plus(plus(tune, exportFt), idx), evaluate(ftInt8, train, test, labels, dir(`${tag}-lora-int8-rag.json`), store));
    const knn = plain.baselines.find((b) => b.name.endsWith('-NN'));
    rows.push({ task, fraction, trainRows: n, arm: `baseline ${knn?.name ?? 'k-NN'}`, accuracy: knn?.classification?.accuracy ?? NaN, prepareSeconds: 0, evalSeconds: 0, peakRssMB: 0 });
    console.log(`${tag}: done`);
  }
}

const pct = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : '—');
const table = [['task', 'train rows', 'arm', 'accuracy', 'prepare s', 'eval s', 'peak RSS MB', 'examples/prompt']].concat(
  rows.map((r) => [r.task, `${r.trainRows} (${r.fraction * 100}%)`, r.arm, pct(r.accuracy), r.prepareSeconds.toFixed(1), r.evalSeconds.toFixed(1), r.peakRssMB ? r.peakRssMB.toFixed(0) : '—', r.examplesPerPrompt !== undefined ? r.examplesPerPrompt.toFixed(2) : '']),
);
const widths = table[0].map((_, c) => Math.max(...table.map((r) => r[c].length)));
console.log('\n' + table.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join('  ')).join('\n'));

// which arm wins where (model arms only; the k-NN baseline is shown beside)
const winners = [...new Set(rows.map((r) => `${r.task}|${r.fraction}`))].map((key) => {
  const arms = rows.filter((r) => `${r.task}|${r.fraction}` === key && !r.arm.startsWith('baseline'));
  const top = Math.max(...arms.map((r) => r.accuracy));
  const best = arms.filter((r) => r.accuracy === top).map((r) => r.arm);
  return { task: arms[0].task, fraction: arms[0].fraction, best, accuracy: top, tie: best.length === arms.length };
});
console.log('\nbest model arm(s): ' + winners.map((w) => `${w.task} ${w.fraction * 100}%: ${w.tie ? 'all arms tie' : w.best.join(' = ')} (${pct(w.accuracy)})`).join('; '));
console.log(`\nload before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${((performance.now() - t0) / 1000).toFixed(0)} s total; one round (not medians): figures are indicative`);
console.log(JSON.stringify({ bench: 'edge-tradeoffs', quick, k: K, key: KEY, model: { nLayer: S.nLayer, nEmbd: S.nEmbd, blockSize: 512, pretrainSteps: S.steps }, ftSteps: S.ftSteps, evalRows: S.limit, load: { before: load0, after: loadavg() }, rows, winners }));
