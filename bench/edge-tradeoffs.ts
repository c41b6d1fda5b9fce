// Edge trade-offs of teaching a small model a user's data (issue 14): on the built-in gesture and robot-
// localization tasks with 10 %, 30 % and 100 % of the training rows, the ranking accuracy on the test split,
// the time to prepare (index, fine-tune, export) and the peak RSS of: the pre-trained model without and with
// retrieval (RAG, no parameter update), LoRA fine-tuning, and fine-tuning + RAG, beside the k-NN baseline; each on
// an f32 base and on an int8 base. Every step is the real `tinyllm` subcommand in its own Node process (so its
// peak RSS is its own). The base model is pre-trained here on the built-in sensor corpus first (not counted),
// or taken from a `tinyllm demo` run (--demo dir). The int8 arms run on the runtime (`eval -m model.tllm`): the
// base exported with `export --int8`; LoRA on the 8-bit base = LoRA trained over the frozen q8_0 weights (the base
// converted to a q8_0 GGUF, dequantized when loaded, as QLoRA does with its 4-bit base), then exported --int8; and
// for comparison the f32-tuned model exported --int8.
// Run: npx tsx bench/edge-tradeoffs.ts [--quick] [--out dir] [--demo dir] [--k 4] [--key numbers|bm25]
//        [--n-layer 4 --n-embd 128 --steps 300] [--ft-steps 150] [--limit 150] [--scale 1] [--tasks gesture,robot]
//        [--fractions 0.1,0.3,1]
// Resumable: rows go to <out>/rows.jsonl as each task × fraction finishes; a re-run with the same --out skips them.
// Last stdout line: one JSON summary object.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './lib/args.js';

const has = (name: string) => process.argv.includes(`--${name}`);
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
const preset = quick
  ? { scale: 0.1, nLayer: 2, nEmbd: 64, steps: 30, ftSteps: 15, limit: 15 }
  : { scale: 1, nLayer: 4, nEmbd: 128, steps: 300, ftSteps: 150, limit: 150 };
const num = (name: string, d: number) => {
  const v = Number(arg(name) ?? d);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number, got '${arg(name)}'`);
  return v;
};
const S = { scale: num('scale', preset.scale), nLayer: num('n-layer', preset.nLayer), nEmbd: num('n-embd', preset.nEmbd), steps: num('steps', preset.steps), ftSteps: num('ft-steps', preset.ftSteps), limit: num('limit', preset.limit) };
const TASKS = (arg('tasks') ?? 'gesture,robot').split(',');
const FRACTIONS = (arg('fractions') ?? '0.1,0.3,1').split(',').map(Number);
if (FRACTIONS.some((f) => !(f > 0 && f <= 1))) throw new Error(`--fractions: numbers in (0, 1], got '${arg('fractions')}'`);

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
const plus = (...steps: (Step | null)[]): Step => ({
  seconds: steps.reduce((s, x) => s + (x?.seconds ?? 0), 0),
  maxRssMB: Math.max(0, ...steps.map((x) => x?.maxRssMB ?? 0)),
});

interface EvalJson {
  ranking?: { accuracy: number };
  baselines: { name: string; classification?: { accuracy: number } }[];
  rag?: { used: number; dropped: number; shortened: number; leakedRows: number };
  rows: number;
}

function evaluate(model: string, train: string, test: string, labels: string, json: string, rag?: string): { step: Step; report: EvalJson } {
  const step = tinyllm(['eval', model.endsWith('.tllm') ? '-m' : '--ckpt', model, '--train', train, '--test', test, '--method', 'rank', '--limit', String(S.limit), '--json', json, '--force', '--labels', labels, ...(rag ? ['--rag', rag, '--k', String(K)] : [])]);
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
fs.mkdirSync(out, { recursive: true });
console.log(`edge trade-offs (${quick ? 'quick' : 'full'}) in ${out}; load ${load0.map((x) => x.toFixed(2)).join(' ')}`);
const demo = arg('demo');
const datasets = demo ? path.join(demo, 'datasets') : dir('datasets');
const base = demo ? path.join(demo, 'model') : dir('base');
if (demo) console.log(`using the datasets and the pre-trained model of the demo run in ${demo}`);
else if (fs.existsSync(path.join(base, 'checkpoint.ckpt'))) console.log(`reusing the datasets and the base model in ${out} (delete it for a fresh run)`);
else {
  tinyllm(['datasets', 'generate', '--out', datasets, '--scale', String(S.scale), '--force']); // the bench's own directory
  tinyllm(['prepare', '--preset', 'sensing', datasets, '--out', dir('data'), '--force']); // the bench's own directory
  // one 512-token row per step: a RAG prompt fills the whole context, so every position gets trained
  const pre = tinyllm(['pretrain', '--data', dir('data', 'sensing_train'), '--n-layer', String(S.nLayer), '--n-head', String(S.nEmbd / 32), '--n-embd', String(S.nEmbd), '--block-size', '512', '--batch', '1', '--seq', '512', '--steps', String(S.steps), '--lr', '1e-3', '--val-every', '0', '--sample-every', '0', '--out', base, '--force']);
  console.log(`base model pre-trained in ${pre.seconds.toFixed(1)} s (${S.nLayer} layers × ${S.nEmbd}, context 512)`);
}
const run = JSON.parse(fs.readFileSync(path.join(base, 'config.json'), 'utf8')) as { model: string; config: object; steps: number; numParams: number };
const model = { name: run.model, ...run.config, parameters: run.numParams, pretrainSteps: run.steps };

// the two bases the runtime runs on: the f32 checkpoint exported int8, and the 8-bit (q8_0) base LoRA tunes over
const baseInt8 = dir('base-int8.tllm');
const exportBase = fs.existsSync(baseInt8) ? { seconds: 0, maxRssMB: 0 } : tinyllm(['export', base, '--int8', '-o', baseInt8]);
const baseQ8 = dir('base-q8_0.gguf');
const convertBase = fs.existsSync(baseQ8) ? { seconds: 0, maxRssMB: 0 } : tinyllm(['convert', base, baseQ8, '--dtype', 'q8_0']);

const rowsFile = dir('rows.jsonl');
const rows: Row[] = fs.existsSync(rowsFile) ? fs.readFileSync(rowsFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Row) : [];
for (const task of TASKS) {
  const all = fs.readFileSync(path.join(datasets, task, 'train.jsonl'), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const test = path.join(datasets, task, 'test.jsonl');
  const labels = [...new Set(all.map((l) => (JSON.parse(l) as { output: string }).output))].join(','); // a small share may miss a class
  for (const fraction of FRACTIONS) {
    const n = Math.max(3, Math.round(all.length * fraction));
    const tag = `${task}-${Math.round(fraction * 100)}`;
    if (rows.some((r) => r.task === task && r.fraction === fraction)) {
      console.log(`${tag}: done in an earlier run (${rowsFile})`);
      continue;
    }
    const train = dir(`${tag}.jsonl`);
    fs.writeFileSync(train, all.slice(0, n).join('\n') + '\n');
    const store = dir(`${tag}.tlx`);
    const idx = tinyllm(['index', train, '-o', store, '--key', KEY, '--force']);
    const lora = (from: string, out: string) => tinyllm(['finetune', '--from', from, '--train', train, '--val-fraction', '0', '--method', 'lora', '--steps', String(S.ftSteps), '--batch', '8', '--lr', '1e-3', '--out', out, '--force']);
    const done: Row[] = [];
    const add = (arm: string, prep: Step | null, e: { step: Step; report: EvalJson }) => {
      done.push({
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
    const json = (name: string) => dir(`${tag}-${name}.json`);
    // f32 base
    const ft = dir(`${tag}-lora`);
    const tune = lora(base, ft);
    const plain = add('pre-trained, no update', null, evaluate(base, train, test, labels, json('base')));
    add(`pre-trained + RAG (k=${K})`, idx, evaluate(base, train, test, labels, json('base-rag'), store));
    add('LoRA fine-tuned', tune, evaluate(ft, train, test, labels, json('lora')));
    add(`LoRA + RAG (k=${K})`, plus(tune, idx), evaluate(ft, train, test, labels, json('lora-rag'), store));
    // int8 base (runtime)
    add('int8: pre-trained, no update', exportBase, evaluate(baseInt8, train, test, labels, json('int8')));
    add(`int8: pre-trained + RAG (k=${K})`, plus(exportBase, idx), evaluate(baseInt8, train, test, labels, json('int8-rag'), store));
    const ft8 = dir(`${tag}-lora-q8`);
    const ft8Int8 = dir(`${tag}-lora-q8-int8.tllm`);
    const tune8 = plus(convertBase, lora(baseQ8, ft8), tinyllm(['export', ft8, '--int8', '-o', ft8Int8, '--force']));
    add('int8: LoRA on the 8-bit base', tune8, evaluate(ft8Int8, train, test, labels, json('lora-q8-int8')));
    add(`int8: LoRA on the 8-bit base + RAG (k=${K})`, plus(tune8, idx), evaluate(ft8Int8, train, test, labels, json('lora-q8-int8-rag'), store));
    // for comparison: tuned in f32, then exported int8
    const ftInt8 = dir(`${tag}-lora-int8.tllm`);
    const tuneThenExport = plus(tune, tinyllm(['export', ft, '--int8', '-o', ftInt8, '--force']));
    add('int8 export of the f32 LoRA', tuneThenExport, evaluate(ftInt8, train, test, labels, json('lora-int8')));
    add(`int8 export of the f32 LoRA + RAG (k=${K})`, plus(tuneThenExport, idx), evaluate(ftInt8, train, test, labels, json('lora-int8-rag'), store));
    const knn = plain.baselines.find((b) => b.name.endsWith('-NN'));
    done.push({ task, fraction, trainRows: n, arm: `baseline ${knn?.name ?? 'k-NN'}`, accuracy: knn?.classification?.accuracy ?? NaN, prepareSeconds: 0, evalSeconds: 0, peakRssMB: 0 });
    fs.appendFileSync(rowsFile, done.map((r) => JSON.stringify(r) + '\n').join(''));
    rows.push(...done);
    console.log(`${tag}: done (${((performance.now() - t0) / 1000).toFixed(0)} s so far; load ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);
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
// accuracy at a glance: one line per task × share of the training rows, one column per arm
const arms = [...new Set(rows.map((r) => r.arm))];
const cases = [...new Set(rows.map((r) => `${r.task}|${r.fraction}`))];
const pivot = [['task', 'train rows', ...arms]].concat(
  cases.map((key) => {
    const here = rows.filter((r) => `${r.task}|${r.fraction}` === key);
    return [here[0].task, `${here[0].trainRows} (${here[0].fraction * 100}%)`, ...arms.map((a) => pct(here.find((r) => r.arm === a)?.accuracy ?? NaN))];
  }),
);
const md = (cells: string[]) => `| ${cells.join(' | ')} |`;
console.log('\n' + [md(pivot[0]), md(pivot[0].map(() => '---')), ...pivot.slice(1).map(md)].join('\n'));
console.log('\nbest model arm(s): ' + winners.map((w) => `${w.task} ${w.fraction * 100}%: ${w.tie ? 'all arms tie' : w.best.join(' = ')} (${pct(w.accuracy)})`).join('; '));
console.log(`\nload before ${load0.map((x) => x.toFixed(2)).join(' ')}, after ${loadavg().map((x) => x.toFixed(2)).join(' ')}; ${((performance.now() - t0) / 1000).toFixed(0)} s total; one round (not medians): figures are indicative`);
console.log(JSON.stringify({ bench: 'edge-tradeoffs', quick, k: K, key: KEY, model, ...(demo ? { demo } : {}), ftSteps: S.ftSteps, evalRows: S.limit, load: { before: load0, after: loadavg() }, rows, winners }));
