// `tinyllm eval`: accuracy of a model on a task's test rows (Alpaca JSONL/CSV) — ranking of the label set by
// likelihood and greedy generation read strictly and by TinyLLM's rule, or MAE/RMSE for numeric answers —
// always beside the baselines fitted on the training rows, as a table and optionally a JSON report.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { evaluate, type EvalOptions } from '../../eval/evaluate.js';
import { formatReport } from '../../eval/format.js';
import type { TestTimeAugmentation } from '../../eval/tta.js';
import { loadSplits, type FinetuneSettings } from '../../finetune/run.js';
import { availableTiers, setKernels } from '../../kernels/index.js';
import type { TextCodec } from '../../models/gpt2/generate.js';
import type { Overflow } from '../../task/encode.js';
import { readTaskInfo, type TaskInfo } from '../../task/info.js';
import { movesSeries } from '../../task/augment.js';
import { sameTokenCount } from '../../task/jitter.js';
import { readTaskFile, splitExamples, type ReadTaskOptions, type TaskExample } from '../../task/read.js';
import { loadTemplate } from '../../task/template.js';
import type { LoadedModel } from '../../runtime/model.js';
import { openTokenizer } from '../../train/run.js';
import { UserError } from '../../util/errors.js';
import { writeFileAtomic } from '../../util/fs.js';
import { Interrupted, onInterrupt } from '../../util/interrupt.js';
import { Progress } from '../../util/progress.js';
import { deriveSeed, Rng } from '../../util/rng.js';
import { parseCommand, type OptionSpecs } from '../args.js';
import { chooseSequenceStart, modelTokenizer, openModel } from './generate.js';
import { openRag } from './index.js';

/** deriveSeed's salt for --tta's draws. */
const TTA_SALT = 0x7e57a06;

export const summary = 'accuracy of a model on a task test set, beside majority / nearest-centroid / k-NN baselines';

const options = {
  model: { type: 'string', short: 'm', help: 'instead of --ckpt: a .tllm deployment file (int8/f16/f32, from tinyllm export), run by the runtime with the tokenizer it carries' },
  ckpt: { type: 'string', help: 'model: a fine-tune run directory (its task.json gives tokenizer, template, sequence start, labels and data), any run/checkpoint, a Hugging Face directory/.safetensors, or an llm.c .bin' },
  test: { type: 'string', help: "test rows: Alpaca JSONL or CSV (instruction, input, output); default: a fine-tune run's test split" },
  train: { type: 'string', help: "training rows (for the baselines and the label set); default: a fine-tune run's training split" },
  data: { type: 'string', help: 'one task file split with a seed instead of --train/--test (as fine-tuning splits it)' },
  'val-fraction': { type: 'number', min: 0, max: 0.99, help: 'with --data: share of rows for validation', default: 0.1 },
  'test-fraction': { type: 'number', min: 0, max: 0.99, help: 'with --data: share of rows for test', default: 0.1 },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: "with --data: split seed; with --tta: the augmentations' seed", default: 1337 },
  'instruction-column': { type: 'string', help: "field/column of the instruction (default 'instruction', optional)" },
  'input-column': { type: 'string', help: "field/column of the input (default 'input', optional)" },
  'output-column': { type: 'string', help: "field/column of the answer (default 'output')" },
  instruction: { type: 'string', help: 'instruction for rows without one' },
  labels: { type: 'string', multiple: true, help: 'the closed label set, comma-separated or repeated (default: the distinct training outputs)' },
  task: { type: 'string', help: "'classify', 'numeric' (MAE/RMSE) or 'auto' (numeric when the training answers are numbers with decimals or > 20 values)", default: 'auto' },
  method: { type: 'string', help: "'all', 'rank' (label likelihood) or 'generate' (greedy)", default: 'all' },
  k: { type: 'number', min: 1, integer: true, help: 'neighbours of the k-NN baseline, and with --rag the examples retrieved per row', default: 5 },
  rag: { type: 'string', help: 'retrieval store (.tlx from tinyllm index): the k nearest stored examples go before each query in the prompt' },
  'rag-keep-leaks': { type: 'boolean', help: 'with --rag: keep store rows identical to the evaluated row (left out by default; they are always reported)', default: false },
  tta: { type: 'number', min: 1, integer: true, help: "test-time augmentation: rank the labels over each row's prompt and N − 1 copies with its input augmented as fine-tuning did (--jitter/--shift/--gain), averaging the label probabilities (1 = off)", default: 1 },
  'tta-jitter': { type: 'number', min: 0, integer: true, help: "with --tta: numbers move by up to this many units of their last digit (default: the run's --jitter)" },
  'tta-shift': { type: 'number', min: 0, integer: true, help: "with --tta: series move by up to this many readings (default: the run's --shift)" },
  'tta-gain': { type: 'number', min: 1, help: "with --tta: series' deviations from their median scaled by a factor in [1/G, G] (default: the run's --gain)" },
  'max-tokens': { type: 'number', min: 1, integer: true, help: 'tokens generated per row at most (default: longest training answer + 4)' },
  limit: { type: 'number', min: 1, integer: true, help: 'evaluate only the first N test rows' },
  template: { type: 'string', help: "prompt template: 'tinyllm' or a template file (default: the run's, else tinyllm)" },
  'sequence-start': { type: 'string', help: "what precedes each prompt: 'endoftext' or 'none' (default: what the model records, else endoftext)" },
  'allow-special': { type: 'boolean', help: "special-token text in the data becomes special tokens (default: the run's, else off)" },
  overflow: { type: 'string', help: "a prompt longer than the context: 'truncate' its input or 'refuse' (default: the run's, else truncate)" },
  json: { type: 'string', help: 'also write the full report (metrics, baselines, every row) as JSON to this file' },
  force: { type: 'boolean', help: 'overwrite an existing --json file', default: false },
  tokenizer: { type: 'string', help: "tokenizer: gpt2 or a directory/tokenizer.json (default: the checkpoint's, else gpt2)" },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
} satisfies OptionSpecs;

const EPILOG = `Examples:
  tinyllm eval --ckpt runs/ft --train data/train.jsonl --test data/test.jsonl --json runs/ft/eval.json
  tinyllm eval --ckpt runs/ft --data gestures.csv --output-column label --labels "Tap,Double tap,Hold"
  tinyllm eval --ckpt runs/ft-jitter --train data/train.jsonl --test data/test.jsonl --method rank --tta 8`;

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('eval', argv, options, { usage: '--ckpt <model> (--train <file> --test <file> | --data <file>) [options]', summary, epilog: EPILOG });
  if (!parsed) return;
  const o = parsed.options;
  if (!o.ckpt === !o.model) throw new UserError('give the model to evaluate: --ckpt <run | checkpoint | weights> or -m <model.tllm>');
  const modelPath = (o.ckpt ?? o.model) as string;
  if (o.json && fs.existsSync(o.json) && !o.force) throw new UserError(`--json ${o.json} exists; give --force to overwrite it or choose another file`);
  if (!['auto', 'classify', 'numeric'].includes(o.task)) throw new UserError(`--task must be auto, classify or numeric, got '${o.task}'`);
  if (!['all', 'rank', 'generate'].includes(o.method)) throw new UserError(`--method must be all, rank or generate, got '${o.method}'`);
  if (o.overflow !== undefined && o.overflow !== 'truncate' && o.overflow !== 'refuse') throw new UserError(`--overflow must be truncate or refuse, got '${o.overflow}'`);
  if (o.kernels !== undefined || o.threads !== undefined) setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads: o.threads });

  if (!fs.existsSync(modelPath)) throw new UserError(`${o.ckpt ? '--ckpt' : '-m'} ${modelPath}: no such file or directory`);
  const info = o.ckpt ? readTaskInfo(o.ckpt) : null; // a fine-tune run: prompts exactly as training built them
  const read = readOptions(info, { instruction: o['instruction-column'], input: o['input-column'], output: o['output-column'] }, o.instruction);
  let train: TaskExample[];
  let test: TaskExample[];
  if (o.data) {
    if (o.train || o.test) throw new UserError('give either --data (split with a seed) or --train and --test, not both');
    ({ train, test } = splitExamples(await readTaskFile(o.data, read), { val: o['val-fraction'], test: o['test-fraction'] }, o.seed));
  } else {
    const run = info && (!o.train || !o.test) ? await runSplits(o.ckpt) : null;
    const trainRows = o.train ? await readTaskFile(o.train, read) : run?.train;
    const testRows = o.test ? await readTaskFile(o.test, read) : run?.test.length ? run.test : undefined;
    if (!testRows) throw new UserError(`--test is required${info ? " (the run has no test split)" : ''} (or --data to split one file)`);
    if (!trainRows) throw new UserError('--train is required: the baselines are fitted on the training rows, and no accuracy is reported without them');
    [train, test] = [trainRows, testRows];
  }
  if (o.limit !== undefined) test = test.slice(0, Math.max(1, o.limit));

  const evaluated = o.ckpt ? await trainingModel(o.ckpt, o.tokenizer ?? info?.tokenizer) : await runtimeModel(modelPath, o.tokenizer);
  const { model, tokenizer, parameters } = evaluated;
  const labels = o.labels.length ? o.labels.flatMap((l) => l.split(',')).map((l) => l.trim()).filter((l) => l !== '') : undefined;

  const progress = new Progress('eval', test.length, { unit: 'rows' });
  const interrupt = onInterrupt('interrupted: finishing the current row, then reporting on the rows done (Ctrl-C again to quit now)');
  let report;
  try {
    const opts: EvalOptions = {
      ...promptSettings(evaluated, info, { template: o.template, sequenceStart: o['sequence-start'], allowSpecial: o['allow-special'], overflow: o.overflow as Overflow | undefined, labels }),
      kind: o.task as EvalOptions['kind'],
      k: o.k,
      rag: o.rag !== undefined ? { retriever: await openRag(o.rag), k: o.k, keepLeaks: o['rag-keep-leaks'] } : undefined,
      tta: o.tta > 1 ? testTimeAugmentation(o.tta, o['tta-jitter'], o['tta-shift'], o['tta-gain'], o.ckpt ? readRunSettings(o.ckpt) : null, tokenizer, o.seed) : undefined,
      maxTokens: o['max-tokens'],
      generate: o.method !== 'rank',
      rank: o.method !== 'generate',
      onRow: (done) => progress.update(done),
      shouldStop: () => interrupt.requested,
    };
    report = evaluate(model, tokenizer, test, train, opts);
  } finally {
    interrupt.dispose();
  }
  progress.finish();
  const c = model.config;
  console.log(`model ${modelPath}: ${parameters.toLocaleString('en-US')} parameters (L=${c.nLayer} H=${c.nHead} C=${c.nEmbd} ctx=${c.blockSize})`);
  console.log(formatReport(report));
  if (o.json) {
    const about = { path: modelPath, parameters, config: model.config };
    writeFileAtomic(o.json, JSON.stringify({ format: 'tinyllm-eval', version: 1, model: about, ...report }, null, 1) + '\n');
    console.log(`report written to ${o.json}`);
  }
  if (report.interrupted) throw new Interrupted(`reported on ${report.rows} of ${report.testRows} test rows`);
}

/** The training model from a checkpoint, run or exported weights, and its tokenizer. */
export async function trainingModel(ckpt: string, tokenizerName: string | undefined) {
  const { model, tokenizer: saved, sequenceStart } = await openModel(ckpt);
  const tokenizer = modelTokenizer(tokenizerName, saved, openTokenizer);
  if (!tokenizer) throw new UserError('evaluation needs a tokenizer; give --tokenizer gpt2 or a tokenizer directory');
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.config.vocabSize}; give the --tokenizer the model was trained with`);
  }
  return { model, tokenizer, sequenceStart, parameters: model.numParams };
}

/** A .tllm file on the runtime's decoder (int8 weights used in place), with the tokenizer and fine-tune fields it carries. */
export async function runtimeModel(file: string, tokenizerFlag: string | undefined) {
  if (tokenizerFlag !== undefined) throw new UserError('--tokenizer goes with --ckpt; a .tllm file carries its own tokenizer');
  const { loadModel } = await import('../../runtime/index.js');
  return runtimeEvaluated(loadModel(file));
}

/** A loaded .tllm model as eval -m runs it: its shared decoder, tokenizer, sequence start and fine-tune fields. */
export async function runtimeEvaluated(loaded: LoadedModel) {
  const { sharedModelDecoder, sequenceStartOf } = await import('../../runtime/index.js');
  const { numParams } = await import('../../models/gpt2/config.js');
  return { model: sharedModelDecoder(loaded), tokenizer: loaded.tokenizer, sequenceStart: sequenceStartOf(loaded.finetune), parameters: numParams(loaded.config), finetune: loaded.finetune };
}

/** How task files are read: each column name from its flag, else the fine-tune run's task.json, else the Alpaca defaults. */
export function readOptions(info: TaskInfo | null, columns: Partial<Record<'instruction' | 'input' | 'output', string>> = {}, instruction?: string): ReadTaskOptions {
  return {
    columns: { instruction: columns.instruction ?? info?.columns.instruction, input: columns.input ?? info?.columns.input, output: columns.output ?? info?.columns.output },
    instruction: instruction ?? info?.instruction,
  };
}

/** A model to evaluate, as trainingModel (--ckpt) or runtimeModel (-m) opens it. */
export type EvaluatedModel = Awaited<ReturnType<typeof trainingModel>> | Awaited<ReturnType<typeof runtimeEvaluated>>;

/** Prompt settings given as flags (undefined = not given). */
interface PromptFlags {
  template?: string;
  sequenceStart?: string;
  allowSpecial?: boolean;
  overflow?: Overflow;
  labels?: string[];
}

/**
 * How rows become prompts and which labels are ranked: each setting from its flag, else the fine-tune run's
 * task.json (--ckpt), else the .tllm header's fine-tune fields (-m), else the defaults (TinyLLM's template,
 * <|endoftext|> first, labels = the distinct training outputs).
 */
export function promptSettings(m: EvaluatedModel, info: TaskInfo | null, flags: PromptFlags): Pick<EvalOptions, 'template' | 'start' | 'allowSpecial' | 'overflow' | 'contextLength' | 'labels' | 'labelsFrom'> {
  const header = 'finetune' in m ? m.finetune : undefined;
  const labels = flags.labels ?? (info?.labels.length ? info.labels : undefined) ?? (header?.labels?.length ? header.labels : undefined);
  return {
    template: flags.template !== undefined ? loadTemplate(flags.template) : info?.template ?? header?.promptTemplate ?? loadTemplate(),
    start: chooseSequenceStart(flags.sequenceStart, info?.sequenceStart ?? m.sequenceStart),
    allowSpecial: flags.allowSpecial ?? info?.allowSpecial ?? header?.allowSpecial ?? false,
    overflow: flags.overflow ?? info?.overflow ?? 'truncate',
    contextLength: m.model.config.blockSize,
    labels,
    labelsFrom: flags.labels ? '--labels' : info?.labels.length ? "the run's task.json" : "the model file's header",
  };
}

/** A fine-tune run's settings (its config.json), or null for a run or file that has none. */
function readRunSettings(runDirOrFile: string): (FinetuneSettings & { file: string }) | null {
  const dir = fs.statSync(runDirOrFile).isDirectory() ? runDirOrFile : path.dirname(runDirOrFile);
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) return null;
  return { ...(JSON.parse(fs.readFileSync(file, 'utf8')) as FinetuneSettings), file };
}

/** --tta N: the augmentation given by flag, else the one the run was fine-tuned with. */
function testTimeAugmentation(copies: number, jitter: number | undefined, shift: number | undefined, gain: number | undefined, run: FinetuneSettings | null, tokenizer: TextCodec, seed: number): TestTimeAugmentation {
  const aug = { jitter: jitter ?? run?.jitter ?? 0, shift: shift ?? run?.shift ?? 0, gain: gain ?? run?.gain ?? 1, keep: sameTokenCount(tokenizer) };
  if (aug.jitter <= 0 && !movesSeries(aug)) {
    throw new UserError(`--tta ${copies} needs an augmentation to draw its copies with: ${run ? 'the run was fine-tuned without --jitter, --shift or --gain' : 'the model is not a fine-tune run with --jitter, --shift or --gain'}; give --tta-jitter K, --tta-shift K and/or --tta-gain G`);
  }
  return { copies, aug, rng: new Rng(deriveSeed(seed, TTA_SALT)) };
}

/** The training and test splits of a fine-tune run, read and split again exactly as its config.json says. */
export async function runSplits(runDirOrFile: string): Promise<{ train: TaskExample[]; test: TaskExample[] } | null> {
  const settings = readRunSettings(runDirOrFile);
  if (!settings?.data?.train) return null;
  const file = settings.file;
  for (const f of [settings.data.train, settings.data.test]) {
    if (f && !fs.existsSync(f)) throw new UserError(`${file}: the run's task file ${f} is not found from here; give --train and --test`);
  }
  const { train, test } = await loadSplits(settings);
  return { train, test };
}
