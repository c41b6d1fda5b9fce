// `tinyllm generate`: stream a continuation of a prompt from a trained model (a tinyllm checkpoint or any
// weights format src/export reads, or a .tllm deployment file run by src/runtime), with a KV cache and seeded
// temperature / top-k / top-p / repetition penalty sampling, stopping at <|endoftext|>, --stop strings or
// --max-tokens. The training code loads only for --ckpt, so `generate -m` on a device loads just the runtime.
import * as fs from 'node:fs';
import { availableTiers, setKernels } from '../../kernels/index.js';
import { checkSamplingOptions } from '../../models/gpt2/sampling.js';
import type { GenerateTextOptions, GenerateTextResult, TextCodec } from '../../models/gpt2/textgen.js';
import type { GPT2 } from '../../models/gpt2/model.js';
import { DEFAULT_SEQUENCE_START, parseSequenceStart, type SequenceCodec, type SequenceStart } from '../../task/sequence.js';
import type { PromptTemplate } from '../../task/template.js';
import { UserError } from '../../util/errors.js';
import type { BpeTokenizer } from '../../tokenizer/bpe.js';
import { parseCommand, type OptionSpecs } from '../args.js';

export const summary = 'generate text from a trained model (streams to stdout)';

const options = {
  model: { type: 'string', short: 'm', help: 'a .tllm deployment file from tinyllm export (int8/f16/f32), run by the runtime' },
  ckpt: { type: 'string', help: 'model: a run directory or checkpoint from tinyllm pretrain, a Hugging Face directory/.safetensors, an llm.c .bin or a GGUF file' },
  prompt: { type: 'string', short: 'p', help: 'text to continue; empty = start of a new document', default: '' },
  'max-tokens': { type: 'number', min: 1, integer: true, short: 'n', help: 'tokens to generate at most', default: 200 },
  temperature: { type: 'number', min: 0, help: 'sampling temperature; 0 = always the most likely token', default: 0.8 },
  'top-k': { type: 'number', min: 0, integer: true, help: 'sample among the k most likely tokens, 0 = off', default: 40 },
  'top-p': { type: 'number', min: 0, max: 1, help: 'nucleus sampling: smallest set of tokens with this total probability, 1 = off', default: 1 },
  'repetition-penalty': { type: 'number', min: 0, help: '> 1 discourages repeating tokens, 1 = off', default: 1 },
  stop: { type: 'string', multiple: true, help: 'stop when this text appears (repeatable)' },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'sampling seed (same seed, same text)', default: 1337 },
  'sequence-start': { type: 'string', help: "what precedes the prompt: 'endoftext' (<|endoftext|>, as training documents) or 'none' (models trained without it); default: what the model records, else endoftext" },
  'allow-special': { type: 'boolean', help: 'special-token text in the prompt (e.g. <|endoftext|>) becomes the special token instead of plain text', default: false },
  tokenizer: { type: 'string', help: "tokenizer: gpt2 or a directory/tokenizer.json (default: the checkpoint's or GGUF file's, else gpt2)" },
  rag: { type: 'string', help: 'retrieval store (.tlx from tinyllm index): the k nearest stored examples (or passages) go before the prompt; the prompt becomes the input of the task template' },
  k: { type: 'number', min: 1, integer: true, help: 'with --rag: examples retrieved', default: 4 },
  input: { type: 'string', help: "a task request to a fine-tuned model instead of --prompt: its input, put into the model's prompt template (the .tllm header's or the run's task.json) as fine-tuning and eval put a row's; the answer stops at the template's end marker" },
  template: { type: 'string', help: "with --rag and a labelled store, or --input: prompt template, 'tinyllm' or a template file (default: the model's, else tinyllm)" },
  instruction: { type: 'string', help: "with --input: the request's instruction (default: the one the model's training rows mostly had, from the .tllm header or the run's task.json); with --rag and a labelled store: the query's (default: the stored examples' most common one)" },
  'rag-keep-leaks': { type: 'boolean', help: 'with --rag: keep store rows identical to the query (left out by default; always reported)', default: false },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
} satisfies OptionSpecs;

/**
 * Opens a model for inference from any supported file: tinyllm checkpoints here, every other format through
 * src/export's loadWeights (the one place new formats hook in). Returns the tokenizer the file names, if any,
 * and the sequence-start rule it records, if any.
 */
export async function openModel(p: string): Promise<{ model: GPT2; tokenizer: string | BpeTokenizer | null; sequenceStart: SequenceStart | null }> {
  if (!fs.existsSync(p)) throw new UserError(`--ckpt ${p}: no such file or directory`);
  const { checkpointPath, isCheckpoint, loadCheckpointWeights, readCheckpointHeader } = await import('../../train/checkpoint.js');
  const { checkInferenceMemory } = await import('../../models/gpt2/memory.js');
  const { GPT2 } = await import('../../models/gpt2/model.js');
  const { loadWeights } = await import('../../export/load.js');
  const file = checkpointPath(p);
  if (isCheckpoint(file)) {
    checkInferenceMemory(readCheckpointHeader(file).config, `the model in ${file}`);
    const { model, header } = loadCheckpointWeights(file);
    const start = header.sequenceStart === undefined ? null : parseSequenceStart(header.sequenceStart, `${file}: sequenceStart`);
    return { model, tokenizer: header.tokenizer, sequenceStart: start };
  }
  let model: GPT2 | undefined;
  const w = loadWeights(p, {
    allocate: (config) => {
      checkInferenceMemory(config, `the model in ${p}`);
      model = new GPT2(config, { seed: null });
      return model.params.data as Float32Array;
    },
  });
  return { model: model as GPT2, tokenizer: w.tokenizer ?? 'gpt2', sequenceStart: w.sequenceStart ?? null };
}

/** The tokenizer: --tokenizer if given, else the one the model file names or carries (a GGUF file's), else GPT-2's. */
export function modelTokenizer<T>(flag: string | undefined, saved: string | BpeTokenizer | null, open: (name: string) => T | null): T | BpeTokenizer | null {
  const fromFile = flag ?? saved ?? 'gpt2';
  return typeof fromFile === 'string' ? open(fromFile) : fromFile;
}

/** `--sequence-start` if given, else the rule the model records, else <|endoftext|> first. */
export function chooseSequenceStart(flag: string | undefined, recorded: SequenceStart | null): SequenceStart {
  return flag !== undefined ? parseSequenceStart(flag) : recorded ?? DEFAULT_SEQUENCE_START;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('generate', argv, options, { usage: '(-m model.tllm | --ckpt <run dir | checkpoint>) [--prompt text] [options]', summary });
  if (!parsed) return;
  const o = parsed.options;
  if (!o.ckpt === !o.model) throw new UserError('give either -m <model.tllm> (from tinyllm export) or --ckpt <run directory | checkpoint | exported weights>');
  if (o.kernels !== undefined || o.threads !== undefined) setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads: o.threads });
  const maxTokens = o['max-tokens'];
  const sampling = { temperature: o.temperature, topK: o['top-k'], topP: o['top-p'], repetitionPenalty: o['repetition-penalty'] };
  try {
    checkSamplingOptions(sampling);
  } catch (e) {
    throw new UserError(`${(e as Error).message} (see tinyllm generate --help)`);
  }
  if (o.input !== undefined && o.prompt !== '') throw new UserError('--input is a task request on its own: give it without --prompt');
  // with --rag the request's input is the retrieval query (given as --input or --prompt), put into the template after the examples
  const task = o.input !== undefined && o.rag === undefined ? { instruction: o.instruction, input: o.input } : undefined;
  if (o.model && o.template !== undefined && !task && o.rag === undefined) throw new UserError('--template goes with --input or --rag');
  const generate = o.model ? await runtimeGenerator(o.model, o, task) : await trainingGenerator(o.ckpt as string, o, task);
  const t0 = performance.now();
  const answer = o.rag !== undefined || task !== undefined;
  if (!answer) process.stdout.write(o.prompt);
  // an answer's trailing whitespace (the blank line before the template's end marker) is held back until more text
  // follows, so a task request prints just its answer
  let held = '';
  const r = generate(o.input ?? o.prompt, {
    ...sampling,
    maxTokens,
    seed: o.seed,
    stopStrings: o.stop,
    onText: (piece) => {
      if (!answer) return void process.stdout.write(piece);
      const text = held + piece;
      const end = text.length - (/\s*$/.exec(text)?.[0].length ?? 0);
      process.stdout.write(text.slice(0, end));
      held = text.slice(end);
    },
  });
  process.stdout.write('\n');
  const secs = (performance.now() - t0) / 1000;
  process.stderr.write(`[${r.tokens.length} tokens in ${secs.toFixed(2)} s, ${(r.tokens.length / secs).toFixed(1)} tok/s; stopped: ${r.reason}]\n`);
}

type Generator = (prompt: string, opts: GenerateTextOptions) => GenerateTextResult;
/** --input and --instruction (absent: the model's recorded one). */
type TaskRequest = { instruction?: string; input: string };
type GenerateFlags = { tokenizer?: string; 'sequence-start'?: string; 'allow-special': boolean; rag?: string; k: number; template?: string; instruction?: string; 'rag-keep-leaks': boolean; 'max-tokens': number };

/** Generation from a .tllm file with the runtime and the tokenizer the file carries (with `task`: from its template; with --rag: after retrieval). */
async function runtimeGenerator(file: string, o: GenerateFlags, task: TaskRequest | undefined): Promise<Generator> {
  if (o.tokenizer !== undefined) throw new UserError('--tokenizer goes with --ckpt; a .tllm file carries its own tokenizer');
  const { loadModel, generate, sequenceStartOf, taskPrompt } = await import('../../runtime/index.js');
  const model = loadModel(file);
  if (!task && o.rag === undefined) return (prompt, opts) => generate(model, prompt, opts);
  const { loadTemplate } = await import('../../task/template.js');
  // the header's template, unless --template replaces it (a model exported without one gets TinyLLM's)
  const template = o.template !== undefined || !model.finetune?.promptTemplate ? loadTemplate(o.template) : model.finetune.promptTemplate;
  if (task) {
    const p = taskPrompt({ ...model, finetune: { ...model.finetune, promptTemplate: template } }, task, 1);
    return (_prompt, opts) => generate(model, p.ids, { ...opts, stopStrings: [...(opts.stopStrings ?? []), ...p.stop] });
  }
  const start = chooseSequenceStart(o['sequence-start'], sequenceStartOf(model.finetune));
  const allowSpecial = o['allow-special'] || (model.finetune?.allowSpecial ?? false);
  return withRetrieval(o, { codec: model.tokenizer, start, allowSpecial, contextLength: model.config.blockSize, template }, (ids, opts) => generate(model, ids, opts));
}

/** Generation with the training model from a checkpoint or exported weights (with `task`: in the run's template; with --rag: after retrieval). */
async function trainingGenerator(ckpt: string, o: GenerateFlags, task: TaskRequest | undefined): Promise<Generator> {
  const { openTokenizer } = await import('../../train/run.js');
  const { generateText, generateTextFromIds } = await import('../../models/gpt2/generate.js');
  const { model, tokenizer: saved, sequenceStart } = await openModel(ckpt);
  const tokenizer = modelTokenizer(o.tokenizer, saved, openTokenizer);
  if (!tokenizer) throw new UserError('generation needs a tokenizer; give --tokenizer gpt2 or a tokenizer directory');
  if (tokenizer.vocabSize > model.config.vocabSize) {
    throw new UserError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${model.config.vocabSize}; give the --tokenizer the model was trained with`);
  }
  if (!task && o.rag === undefined) return (prompt, opts) => generateText(model, tokenizer, prompt, { ...opts, start: chooseSequenceStart(o['sequence-start'], sequenceStart), allowSpecial: o['allow-special'] });
  // a fine-tune run's task.json says how training built prompts (as eval uses them); flags override it
  const { loadTemplate } = await import('../../task/template.js');
  const { readTaskInfo } = await import('../../task/info.js');
  const info = readTaskInfo(ckpt);
  const template = o.template !== undefined || !info ? loadTemplate(o.template) : info.template;
  const m = { codec: tokenizer, template, start: chooseSequenceStart(o['sequence-start'], info?.sequenceStart ?? sequenceStart), allowSpecial: o['allow-special'] || (info?.allowSpecial ?? false), contextLength: model.config.blockSize };
  if (task) {
    const { fitPrompt } = await import('../../task/encode.js');
    const ids = fitPrompt(tokenizer, { instruction: task.instruction ?? info?.requestInstruction ?? '', input: task.input }, 1, m, '--input').ids;
    const stop = template.end ? [template.end] : [];
    return (_prompt, g) => generateTextFromIds(model, tokenizer, ids, { ...g, stopStrings: [...(g.stopStrings ?? []), ...stop] });
  }
  return withRetrieval(o, m, (ids, opts) => generateTextFromIds(model, tokenizer, ids, opts));
}

/**
 * --rag: the prompt after retrieval (src/rag/generate.ts: the same prompt eval builds for a row with this input and
 * instruction), its retrieval and leak report on stderr, then generation from those ids.
 */
async function withRetrieval(
  o: GenerateFlags,
  m: { codec: SequenceCodec & TextCodec; template: PromptTemplate; start: SequenceStart; allowSpecial: boolean; contextLength: number },
  fromIds: (ids: number[], opts: GenerateTextOptions) => GenerateTextResult,
): Promise<Generator> {
  const { ragPrompt } = await import('../../rag/generate.js');
  const { openRag } = await import('./index.js');
  const retriever = await openRag(o.rag as string);
  return (prompt, opts) => {
    const rag = ragPrompt(retriever, m.codec, prompt, {
      k: o.k,
      template: m.template,
      instruction: o.instruction,
      start: m.start,
      allowSpecial: m.allowSpecial,
      contextLength: m.contextLength,
      reserve: Math.min(o['max-tokens'], Math.floor(m.contextLength / 2)),
      keepLeaks: o['rag-keep-leaks'],
    });
    console.error(`[retrieval: ${rag.note}]`);
    return fromIds(rag.ids, { ...opts, stopStrings: [...(opts.stopStrings ?? []), ...rag.stop] });
  };
}
