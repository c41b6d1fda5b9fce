// `tinyllm export <model> --int8|--f16|--f32 -o model.tllm`: a deployment file for the runtime (src/runtime), and
// what the quantization cost, measured against the f32 model it came from: file size before/after, max |Δlogit|
// and top-1 agreement on sample prompts, Δ perplexity on a validation shard (--val), Δ task accuracy on a task file
// (--task, evaluated as `tinyllm eval --ckpt` and `eval -m` do). --max-ppl-increase / --max-acc-drop make it fail
// (exit 1, nothing written) above a bound: the file is checked under a temp name and renamed into place. --gguf
// writes a GGUF file for llama.cpp instead (--dtype f32, f16 or q8_0), measured the same way. Per-block precision
// (export/precision.ts): --keep-f32 <blocks> keeps those blocks' matrices f32 in an --int8 file; --precision auto
// measures each block's sensitivity (Δ validation loss with only that block int8) and keeps the most sensitive ones
// f32 so the predicted perplexity rise fits --max-ppl-increase (then measured as always).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveShards } from '../../data/loader.js';
import { readShardHeader, readShardTokens } from '../../data/shard.js';
import { exportTllm, type TllmScheme } from '../../export/deploy.js';
import { blockSensitivity, choosePrecision, int8BySensitivity, keepOneMore, parseBlockList } from '../../export/precision.js';
import { INT8_GROUPS, type Int8Group } from '../../export/quantize.js';
import type { StorageKind } from '../../export/tllm.js';
import { saveGgufGPT2, type GgufDtype } from '../../export/gguf-gpt2.js';
import { numParams } from '../../models/gpt2/config.js';
import { KVDecoder } from '../../models/gpt2/decode.js';
import { Decoder, loadModel, type LoadedModel } from '../../runtime/index.js';
import { sharedArena } from '../../tensor/arena.js';
import { tokenizerJsonText } from '../../tokenizer/files.js';
import { resolveTokenizer } from '../../tokenizer/gpt2.js';
import { UserError } from '../../util/errors.js';
import { onInterrupt, type InterruptFlag } from '../../util/interrupt.js';
import { Progress } from '../../util/progress.js';
import { parseCommand, type OptionSpecs } from '../args.js';
import { openModel } from './generate.js';
import { readTaskInfo, type TaskInfo } from '../../task/info.js';
import { readTaskFile, type TaskExample } from '../../task/read.js';
import { evaluate, taskKind, type TaskKind } from '../../eval/evaluate.js';
import type { ClassificationMetrics, RegressionMetrics } from '../../eval/metrics.js';
import { GPT2 } from '../../models/gpt2/model.js';
import { promptSettings, readOptions, runtimeEvaluated, type EvaluatedModel } from './eval.js';

export const summary = 'export a model to a .tllm deployment file (int8 / f16 / f32) and report what quantization cost';

const options = {
  out: { type: 'string', short: 'o', help: 'output .tllm file' },
  int8: { type: 'boolean', help: 'int8 weights with f32 scales (symmetric; see --group)' },
  f16: { type: 'boolean', help: 'f16 weights' },
  f32: { type: 'boolean', help: 'f32 weights (exact)' },
  gguf: { type: 'boolean', help: 'write a GGUF file for llama.cpp instead of a .tllm (see --dtype)' },
  dtype: { type: 'string', help: 'with --gguf: f32, f16 or q8_0 (blocks of 32 with an f16 scale)', default: 'f32' },
  group: { type: 'number', min: 0, max: 64, integer: true, help: 'int8: values per scale along a row, 32 or 64, or 0 for one scale per row', default: 64 },
  embedding: { type: 'string', help: 'storage of the token embedding / tied LM head: int8, f16 or f32 (default: as the weights)' },
  tokenizer: { type: 'string', help: "tokenizer: gpt2 or a directory/tokenizer.json (embedded in the file; default: the checkpoint's, else gpt2)" },
  prompt: { type: 'string', multiple: true, help: 'sample prompt for the max |Δlogit| check (repeatable; default: three built-in ones)' },
  val: { type: 'string', help: 'validation shard (file, prefix or directory) for Δ perplexity' },
  'val-tokens': { type: 'number', min: 2, integer: true, help: 'tokens of --val to score', default: 4096 },
  'max-ppl-increase': { type: 'number', min: -100, help: 'fail (exit 1, no file written) when validation perplexity rises by more than this many percent' },
  task: { type: 'string', help: "task rows (Alpaca JSONL/CSV) for Δ task accuracy: the source and the exported model ranked on them as tinyllm eval does (a fine-tune run's task.json gives template, columns and labels)" },
  train: { type: 'string', help: "with --task: training rows, for the label set (default: the fine-tune run's task.json labels)" },
  limit: { type: 'number', min: 1, integer: true, help: 'with --task: evaluate only the first N rows' },
  'max-acc-drop': { type: 'number', min: -100, help: 'fail (exit 1, no file written) when task accuracy on --task drops by more than this many percentage points' },
  'keep-f32': { type: 'string', help: "with --int8: blocks whose matrices stay f32, e.g. '0,11' (a mixed file)" },
  precision: { type: 'string', help: "'auto': with --int8, --val and --max-ppl-increase, measure each block's sensitivity and keep the most sensitive f32" },
  force: { type: 'boolean', help: 'overwrite an existing output file' },
} satisfies OptionSpecs;

const DEFAULT_PROMPTS = [
  'The quick brown fox jumps over the lazy dog.',
  'timestamp,ax,ay,az,gx,gy,gz\n0.00,0.12,-0.98,0.05,1.2,-0.4,0.1\n',
  '### Instruction:\nWhere is the robot?\n### Response:\n',
];

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('export', argv, options, { usage: '<run dir | checkpoint | HF dir | .safetensors | llm.c .bin | .gguf> (--int8 | --f16 | --f32 | --gguf [--dtype f32|f16|q8_0]) -o <file> [options]', summary });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length !== 1) throw new UserError(`expected one model to export, got ${positionals.length} (see tinyllm export --help)`);
  const gguf = o.gguf ? ggufDtype(o) : null;
  const scheme = gguf ? null : schemeOf(o);
  if (!o.out) throw new UserError('-o <model.tllm> is required');
  if (fs.existsSync(o.out) && !o.force) throw new UserError(`${o.out} exists; choose another -o or pass --force to overwrite it`);
  const valTokens = o['val-tokens'];
  if (o['max-ppl-increase'] !== undefined && !o.val) throw new UserError('--max-ppl-increase needs --val <validation shard> to measure perplexity on');
  if (o['max-acc-drop'] !== undefined && !o.task) throw new UserError('--max-acc-drop needs --task <task rows> to measure accuracy on');
  if (!o.task && (o.train !== undefined || o.limit !== undefined)) throw new UserError('--train and --limit go with --task <task rows>');
  const input = positionals[0];

  const { model, tokenizer: saved, sequenceStart } = await openModel(input);
  const task = readTaskInfo(input);
  const tokSpec = o.tokenizer ?? saved ?? 'gpt2';
  const tokenizer = typeof tokSpec === 'string' ? resolveTokenizer(tokSpec) : tokSpec;
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.config.vocabSize}; give the --tokenizer the model was trained with`);
  }
  // --precision auto: the int8 blocks, most sensitive first, that can still be kept f32 if the measured rise is too high
  const spare = scheme && (o['keep-f32'] !== undefined || o.precision !== undefined) ? choosePrecisionFlags(o, scheme, model, valTokens) : [];
  const temp = path.join(path.dirname(o.out), `.${path.basename(o.out)}.${process.pid}.check`);
  const params = new Map(model.params.names().map((n) => [n, model.params.get(n) as Float32Array]));
  const write = () => {
    if (gguf) saveGgufGPT2(temp, model.config, params, tokenizer.model, { dtype: gguf });
    else {
      exportTllm(temp, model.config, params, {
        scheme: scheme as TllmScheme,
        tokenizer: tokSpec === 'gpt2' ? 'gpt2' : { json: tokenizerJsonText(tokenizer.model) },
        // how prompts start (and, for a fine-tune run, its label set), so generate -m, eval and serve build prompts as training did
        finetune: { startRule: sequenceStart ?? task?.sequenceStart ?? 'endoftext', ...(task ? { promptTemplate: task.template, allowSpecial: task.allowSpecial, labels: task.labels, instruction: task.requestInstruction } : {}) },
        source: { path: path.resolve(input), exported: new Date().toISOString() },
      });
    }
  };
  write();
  const stop = onInterrupt('interrupted: stopping the quantization check; nothing will be written (Ctrl-C again to quit now)');
  try {
    const capacity = Math.min(model.config.blockSize, 512);
    const ref = new KVDecoder(model, capacity);
    const prompts = (o.prompt?.length ? o.prompt : DEFAULT_PROMPTS).map((p) => [tokenizer.eotToken, ...tokenizer.encode(p)].slice(0, capacity));
    const tokens = o.val ? readValTokens(o.val, valTokens, model.config.vocabSize) : null;
    const pRef = tokens ? perplexity(ref, tokens, 'perplexity f32', stop) : 0;
    let exported: GPT2 | LoadedModel;
    // a retry's file replaces the last one in the arena (loadModel reads into it); nothing before this mark is freed:
    // ref allocated its cache when made and its row logits in pRef's perplexity (a retry needs tokens)
    const attempt = sharedArena().mark();
    for (;;) {
      const before = numParams(model.config) * 4;
      const after = fs.statSync(temp).size;
      console.log(`${o.out}: ${gguf ? `GGUF ${gguf}` : describe(scheme as TllmScheme)}; ${mb(after)} (f32 weights ${mb(before)}, ${(after / before).toFixed(3)}x; source on disk ${mb(diskSize(input))})`);
      exported = gguf ? (await openModel(temp)).model : loadModel(temp);
      const ours = exported instanceof GPT2 ? new KVDecoder(exported, capacity) : new Decoder(exported, { capacity });
      const { maxDelta, agree, positions, scale } = logitCost(ours, ref, prompts, stop);
      console.log(`  logits on ${prompts.length} prompts (${positions} positions): max |Δlogit| ${maxDelta.toPrecision(3)} (largest |logit| ${scale.toPrecision(3)}), top-1 token agrees at ${((100 * agree) / positions).toFixed(1)}%`);
      if (!tokens) break;
      const pOurs = perplexity(ours, tokens, `perplexity ${gguf ?? (scheme as TllmScheme).weights}`, stop);
      const rise = (100 * (pOurs - pRef)) / pRef;
      console.log(`  perplexity on ${tokens.length} tokens of ${o.val}: f32 ${pRef.toFixed(3)} -> ${pOurs.toFixed(3)} (${rise >= 0 ? '+' : ''}${rise.toFixed(2)}%)`);
      const bound = o['max-ppl-increase'];
      if (bound === undefined || rise <= bound) break;
      const more = keepOneMore((scheme as TllmScheme).keepF32 ?? [], spare);
      if (!more) throw new UserError(`perplexity rose by ${rise.toFixed(2)}% > --max-ppl-increase ${bound}%; nothing written. Try --group 32, --embedding f16 or --f16`);
      (scheme as TllmScheme).keepF32 = more.keepF32;
      console.log(`  precision auto: measured +${rise.toFixed(2)}% > ${bound}%, so block ${more.block} (the most sensitive int8 one) stays f32 too; exporting again`);
      sharedArena().release(attempt);
      write();
    }
    if (o.task) {
      const rows = await taskRows(o.task, o.train, o.limit, task);
      const source = { model, tokenizer, sequenceStart, parameters: model.numParams };
      // the exported file as eval -m runs it (prompts from its header), a GGUF file as eval --ckpt with the run's settings
      const target = exported instanceof GPT2 ? { ...source, model: exported } : await runtimeEvaluated(exported);
      const what = gguf ?? (scheme as TllmScheme).weights;
      const a = taskScore(source, task, rows, 'source', stop);
      const b = taskScore(target, exported instanceof GPT2 ? task : null, rows, what, stop);
      const on = `on ${a.rows} rows of ${o.task}`;
      if (a.kind === 'numeric') {
        console.log(`  task MAE ${on}: source ${a.value.toFixed(4)} -> ${what} ${b.value.toFixed(4)} (${b.value >= a.value ? '+' : ''}${(b.value - a.value).toFixed(4)})`);
        if (o['max-acc-drop'] !== undefined) throw new UserError(`--max-acc-drop: ${o.task} is a numeric task (scored by MAE), not a classification; nothing written`);
      } else {
        const drop = 100 * (a.value - b.value);
        const figures = `${pct(a.value)} -> ${pct(b.value)}`;
        console.log(`  task accuracy ${on} (ranking by likelihood): source ${pct(a.value)} -> ${what} ${pct(b.value)} (drop ${drop.toFixed(2)} points)`);
        const bound = o['max-acc-drop'];
        if (bound !== undefined && drop > bound) {
          throw new UserError(`task accuracy dropped by ${drop.toFixed(2)} points (${figures} ${on}) > --max-acc-drop ${bound}; nothing written. Try --group 32, --embedding f16 or --f16`);
        }
      }
    }
    fs.renameSync(temp, o.out);
  } catch (e) {
    if (!(e instanceof Interrupted)) throw e;
    fs.rmSync(temp, { force: true });
    console.error('tinyllm export: interrupted; nothing written');
    process.exit(130);
  } finally {
    stop.dispose();
    fs.rmSync(temp, { force: true });
  }
  console.log(`wrote ${o.out}`);
}

function ggufDtype(o: { int8?: boolean; f16?: boolean; f32?: boolean; dtype: string }): GgufDtype {
  if (o.int8 || o.f16 || o.f32) throw new UserError('--gguf takes its weight type from --dtype f32|f16|q8_0, not --int8/--f16/--f32');
  if (!['f32', 'f16', 'q8_0'].includes(o.dtype)) throw new UserError(`--dtype must be f32, f16 or q8_0 for GGUF, got '${o.dtype}'`);
  return o.dtype as GgufDtype;
}

function schemeOf(o: { int8?: boolean; f16?: boolean; f32?: boolean; group: number; embedding?: string }): TllmScheme {
  const picked = (['int8', 'f16', 'f32'] as const).filter((k) => o[k]);
  if (picked.length !== 1) throw new UserError(`choose one of --int8, --f16, --f32 (got ${picked.length ? picked.map((k) => `--${k}`).join(' ') : 'none'})`);
  const weights: StorageKind = picked[0];
  if (!INT8_GROUPS.includes(o.group as Int8Group)) throw new UserError(`--group must be ${INT8_GROUPS.join(', ')} (0 = one scale per row), got ${o.group}`);
  const embedding = o.embedding ?? weights;
  if (!['int8', 'f16', 'f32'].includes(embedding)) throw new UserError(`--embedding must be int8, f16 or f32, got '${embedding}'`);
  return { weights, embedding: embedding as StorageKind, group: o.group as Int8Group };
}

function describe(s: TllmScheme): string {
  const q = (k: StorageKind) => (k === 'int8' ? `int8 (${s.group ? `groups of ${s.group}` : 'per-row scales'})` : k);
  const kept = s.keepF32?.length ? ` (blocks ${s.keepF32.join(',')} f32)` : '';
  return s.embedding === s.weights ? `${q(s.weights)}${kept}` : `${q(s.weights)} weights${kept}, ${q(s.embedding)} embedding`;
}

/**
 * Sets scheme.keepF32 from --keep-f32, or from measured sensitivities with --precision auto (printing them). Returns the
 * blocks left int8 by --precision auto, most sensitive first (none for --keep-f32).
 */
function choosePrecisionFlags(o: { 'keep-f32'?: string; precision?: string; val?: string; 'max-ppl-increase'?: number }, scheme: TllmScheme, model: GPT2, valTokens: number): number[] {
  if (scheme.weights !== 'int8') throw new UserError('--keep-f32 and --precision choose int8 or f32 per block; use them with --int8');
  if (o['keep-f32'] !== undefined && o.precision !== undefined) throw new UserError('give --keep-f32 <blocks> or --precision auto, not both');
  if (o['keep-f32'] !== undefined) {
    scheme.keepF32 = parseBlockList(o['keep-f32'], model.config);
    return [];
  }
  if (o.precision !== 'auto') throw new UserError(`--precision must be 'auto', got '${o.precision}'`);
  const bound = o['max-ppl-increase'];
  if (!o.val || bound === undefined) throw new UserError('--precision auto needs --val <validation shard> and --max-ppl-increase <percent> (the bound it chooses for)');
  const tokens = readValTokens(o.val, valTokens, model.config.vocabSize);
  const L = model.config.nLayer;
  const progress = new Progress('  sensitivity', L + 1, { unit: 'passes' });
  const s = blockSensitivity(model, tokens, Math.min(model.config.blockSize, 512), scheme.group, (done) => progress.update(done + 1));
  progress.finish();
  console.log(`  sensitivity on ${tokens.length} tokens of ${o.val} (Δ validation loss with only that block int8; f32 loss ${s.base.toFixed(4)}):`);
  for (let l = 0; l < L; l++) console.log(`    block ${l}: ${s.delta[l] >= 0 ? '+' : ''}${s.delta[l].toExponential(2)} (${(100 * Math.expm1(s.delta[l])).toFixed(3)}% perplexity)`);
  const { keepF32, predicted } = choosePrecision(s, bound);
  scheme.keepF32 = keepF32;
  console.log(`  precision auto: ${keepF32.length ? `blocks ${keepF32.join(',')} stay f32` : 'every block int8'}, predicted perplexity rise ${predicted >= 0 ? '+' : ''}${predicted.toFixed(3)}% (bound ${bound}%)`);
  return int8BySensitivity(s, keepF32);
}

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function diskSize(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.size;
  return fs.readdirSync(p).reduce((n, f) => {
    const s = fs.statSync(path.join(p, f));
    return n + (s.isFile() ? s.size : 0);
  }, 0);
}

class Interrupted extends Error {}

function checkStop(stop: InterruptFlag): void {
  if (stop.requested) throw new Interrupted();
}

/** Feeds each prompt token by token to both decoders and compares the logits at every position. */
function logitCost(ours: Decoder | KVDecoder, ref: Decoder | KVDecoder, prompts: number[][], stop: InterruptFlag) {
  let maxDelta = 0;
  let agree = 0;
  let positions = 0;
  let scale = 0;
  for (const ids of prompts) {
    ours.reset();
    ref.reset();
    for (const id of ids) {
      checkStop(stop);
      const a = ours.feed([id]);
      const b = ref.feed([id]);
      let ia = 0;
      let ib = 0;
      for (let v = 0; v < a.length; v++) {
        maxDelta = Math.max(maxDelta, Math.abs(a[v] - b[v]));
        scale = Math.max(scale, Math.abs(b[v]));
        if (a[v] > a[ia]) ia = v;
        if (b[v] > b[ib]) ib = v;
      }
      if (ia === ib) agree++;
      positions++;
    }
  }
  return { maxDelta, agree, positions, scale };
}

/** Perplexity of the tokens in windows of the decoder's capacity (teacher forcing), with a progress line. */
function perplexity(dec: Decoder | KVDecoder, tokens: Uint16Array, label: string, stop: InterruptFlag): number {
  const progress = new Progress(`  ${label}`, tokens.length, { unit: 'tok' });
  let logp = 0;
  let n = 0;
  for (let i = 0; i + 1 < tokens.length; i += dec.capacity) {
    const window = tokens.subarray(i, Math.min(tokens.length, i + dec.capacity));
    if (window.length < 2) break;
    checkStop(stop);
    dec.reset();
    logp += dec.feedScored(window);
    n += window.length - 1;
    progress.update(i + window.length);
  }
  progress.finish();
  return Math.exp(-logp / n);
}

interface TaskRows {
  test: TaskExample[];
  train: TaskExample[];
}

/** The --task rows (the first --limit) and the training rows of --train, read with a fine-tune run's columns. */
async function taskRows(testFile: string, trainFile: string | undefined, limit: number | undefined, info: TaskInfo | null): Promise<TaskRows> {
  const read = readOptions(info);
  const test = (await readTaskFile(testFile, read)).slice(0, limit);
  const train = trainFile ? await readTaskFile(trainFile, read) : [];
  if (train.length === 0 && !info?.labels.length) throw new UserError('--task needs the training rows (for the label set, or to score numeric answers): give --train <training rows>; a fine-tune run of a classification task has its labels in task.json');
  return { test, train };
}

/** Ranking accuracy (a classification task) or MAE of greedy answers (a numeric one) of `m` on the rows, as tinyllm eval scores them. */
function taskScore(m: EvaluatedModel, info: TaskInfo | null, rows: TaskRows, label: string, stop: InterruptFlag): { kind: TaskKind; value: number; rows: number } {
  const settings = promptSettings(m, info, {});
  const kind = taskKind(rows.train, settings.labels);
  const progress = new Progress(`  task ${label}`, rows.test.length, { unit: 'rows' });
  const r = evaluate(m.model, m.tokenizer, rows.test, rows.train, { ...settings, kind, rank: kind === 'classify', generate: kind === 'numeric', onRow: (n) => progress.update(n), shouldStop: () => stop.requested });
  progress.finish();
  checkStop(stop);
  return { kind, value: kind === 'classify' ? (r.ranking as ClassificationMetrics).accuracy : (r.numeric as RegressionMetrics).mae, rows: r.rows };
}

function readValTokens(spec: string, count: number, vocabSize: number): Uint16Array {
  const file = resolveShards(spec, 'val')[0];
  const { numTokens } = readShardHeader(file);
  const n = Math.min(count, numTokens);
  if (n < 2) throw new UserError(`${file}: has ${numTokens} tokens; --val needs at least 2`);
  const out = new Uint16Array(n);
  const fd = fs.openSync(file, 'r');
  try {
    readShardTokens(fd, 0, n, out);
  } finally {
    fs.closeSync(fd);
  }
  const bad = out.findIndex((t) => t >= vocabSize);
  if (bad >= 0) throw new UserError(`${file}: token ${out[bad]} at index ${bad} is outside the model's vocabulary of ${vocabSize}; was the shard made with another tokenizer?`);
  return out;
}
