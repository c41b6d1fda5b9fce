// The prompt template of a task: how an (instruction, input, output) example becomes text. One definition
// shared by `prepare --template instruction`, fine-tuning, evaluation, generation and the deployment runtime.
// The default is TinyLLM's (Fine-tune/fine_tune.py create_prompt_formats): the non-empty parts
// `### Instruction:\n…`, `### Input:\n…`, `### Response:\n…` and `### End`, joined by a blank line.
import * as fs from 'node:fs';
import { UserError } from '../util/errors.js';
import { rescaleSeries } from './rescale.js';

export interface PromptTemplate {
  /** Text before everything else ('' = none; TinyLLM's optional "intro blurb"). */
  intro: string;
  /** The instruction part with an `{instruction}` placeholder; left out when the instruction is empty. */
  instruction: string;
  /** The input part with an `{input}` placeholder; left out when the input is empty. */
  input: string;
  /** The response header; the answer follows it directly. */
  response: string;
  /** Written after the answer (then generation stops there); '' = nothing. */
  end: string;
  /** Between parts. */
  separator: string;
  /** How the input's series are written: as in the data (absent), or 'rescale'd to 0..99 of their own range (rescale.ts). */
  series?: 'rescale';
}

/** One example in the Alpaca convention. */
export interface TaskFields {
  instruction: string;
  input: string;
}

/**
 * TinyLLM's template. (TinyLLM keeps an empty `### Instruction:` header when a data set has no
 * instruction; here an empty instruction leaves its part out, like an empty input.)
 */
export const TINYLLM_TEMPLATE: Readonly<PromptTemplate> = Object.freeze({
  intro: '',
  instruction: '### Instruction:\n{instruction}',
  input: '### Input:\n{input}',
  response: '### Response:\n',
  end: '### End',
  separator: '\n\n',
});

export const TEMPLATE_FORMAT = 'tinyllm-template';

/** The prompt: the non-empty parts up to and including the response header; the answer comes next. */
export function renderPrompt(t: PromptTemplate, ex: TaskFields): string {
  const parts: string[] = [];
  if (t.intro) parts.push(t.intro);
  if (ex.instruction) parts.push(t.instruction.replaceAll('{instruction}', () => ex.instruction));
  if (ex.input) parts.push(t.input.replaceAll('{input}', () => inputAsWritten(t, ex.input)));
  parts.push(t.response);
  return parts.join(t.separator);
}

/** A row's input as the template writes it into the prompt (its series rescaled when the template says so). */
export function inputAsWritten(t: Pick<PromptTemplate, 'series'>, input: string): string {
  return t.series === 'rescale' ? rescaleSeries(input) : input;
}

/** The answer as trained: the output, then the end marker. */
export function renderAnswer(t: PromptTemplate, output: string): string {
  return t.end ? output + t.separator + t.end : output;
}

/** The text after the answer (cut generated text at it). */
export function answerEnd(t: PromptTemplate): string {
  return t.end ? t.separator + t.end : '';
}

/** The whole training text of one example. */
export function renderExample(t: PromptTemplate, ex: TaskFields & { output: string }): string {
  return renderPrompt(t, ex) + renderAnswer(t, ex.output);
}

const KEYS = ['intro', 'instruction', 'input', 'response', 'end', 'separator'] as const;
const SERIES = ['rescale'] as const;

/**
 * A template file: JSON `{"format": "tinyllm-template", "version": 1, ...}` with any of the string
 * fields of PromptTemplate (missing ones keep TinyLLM's): e.g. `{"format": "tinyllm-template",
 * "version": 1, "instruction": "Q: {instruction}", "input": "{input}", "response": "A: ", "end": "",
 * "separator": "\n"}`, and optionally `"series": "rescale"` (the input's series written as 0..99 of their range).
 */
export function parseTemplate(json: string, where: string): PromptTemplate {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new UserError(`${where}: not valid JSON (${(e as Error).message}); a template file is {"format": "${TEMPLATE_FORMAT}", "version": 1, "instruction": …, "input": …, "response": …, "end": …, "separator": …}`);
  }
  return templateFromObject(raw, where);
}

/** A template from its parsed JSON form (a template file, a run's task.json, a .tllm header); see parseTemplate. */
export function templateFromObject(raw: unknown, where: string): PromptTemplate {
  const o = raw as Record<string, unknown>;
  if (typeof o !== 'object' || o === null || o.format !== TEMPLATE_FORMAT) throw new UserError(`${where}: not a template (it needs "format": "${TEMPLATE_FORMAT}")`);
  if (o.version !== 1) throw new UserError(`${where}: template version ${String(o.version)} is not supported (this tinyllm reads version 1)`);
  const t: PromptTemplate = { ...TINYLLM_TEMPLATE };
  for (const [k, v] of Object.entries(o)) {
    if (k === 'format' || k === 'version') continue;
    if (k === 'series') {
      if (!(SERIES as readonly unknown[]).includes(v)) throw new UserError(`${where}: field 'series' must be ${SERIES.map((x) => `"${x}"`).join(' or ')} (or left out: series as written)`);
      t.series = v as (typeof SERIES)[number];
      continue;
    }
    if (!(KEYS as readonly string[]).includes(k)) throw new UserError(`${where}: unknown field '${k}'; a template has ${KEYS.join(', ')} and series`);
    if (typeof v !== 'string') throw new UserError(`${where}: field '${k}' must be a string`);
    t[k as (typeof KEYS)[number]] = v;
  }
  if (!t.instruction.includes('{instruction}')) throw new UserError(`${where}: field 'instruction' must contain {instruction}`);
  if (!t.input.includes('{input}')) throw new UserError(`${where}: field 'input' must contain {input}`);
  if (t.response === '') throw new UserError(`${where}: field 'response' must not be empty (the answer follows it)`);
  return t;
}

/** The JSON form of a template (what templateFromObject reads back). */
export function templateObject(t: PromptTemplate): { format: string; version: 1 } & PromptTemplate {
  return { format: TEMPLATE_FORMAT, version: 1, ...t };
}

/** The template as stored in a run or template file (the inverse of parseTemplate). */
export function templateJson(t: PromptTemplate): string {
  return JSON.stringify(templateObject(t), null, 2) + '\n';
}

/** `--template` value: 'tinyllm' (default) or a template file. */
export function loadTemplate(spec = 'tinyllm'): PromptTemplate {
  if (spec === 'tinyllm') return { ...TINYLLM_TEMPLATE };
  if (!fs.statSync(spec, { throwIfNoEntry: false })?.isFile()) throw new UserError(`--template: no template file ${spec}; use 'tinyllm' or a JSON file (see docs/finetune.md)`);
  return parseTemplate(fs.readFileSync(spec, 'utf8'), spec);
}
