// Task files: labelled examples in the Alpaca convention that TinyLLM and most instruction data sets
// use, `instruction` (optional), `input`, `output`, as JSON records (JSON Lines or one array) or CSV/TSV
// columns (other names by option). Read with the streaming readers of src/data (BOM, UTF-16, CRLF, quoted
// multi-line fields, long rows); any problem is a UserError naming the file, row/line and column. A seeded
// split turns one file into train/val/test.
import * as fs from 'node:fs';
import { columnOf } from '../data/csv.js';
import { csvRows } from '../data/sources.js';
import { readJsonRecords } from '../data/json-records.js';
import { UserError } from '../util/errors.js';
import { Rng } from '../util/rng.js';
import type { TaskFields } from './template.js';

export interface TaskExample extends TaskFields {
  /** The answer, without surrounding whitespace (a hand-written `1 2 3, Tap` is the label `Tap`). */
  output: string;
  /** Where it came from, for messages: `file: row 3 (line 5)`. */
  where: string;
}

export interface TaskColumns {
  /** Default 'instruction' (optional unless named explicitly). */
  instruction?: string;
  /** Default 'input' (optional unless named explicitly). */
  input?: string;
  /** Default 'output' (required). */
  output?: string;
}

export interface ReadTaskOptions {
  columns?: TaskColumns;
  /** The instruction of rows without one (TinyLLM's per-task instruction); default ''. */
  instruction?: string;
  /** 'jsonl' (JSON Lines or one JSON array) or 'csv'; default from the extension (.jsonl/.ndjson/.json → jsonl, else csv). */
  format?: 'jsonl' | 'csv';
}

export function taskFormat(file: string): 'jsonl' | 'csv' {
  return /\.(jsonl|ndjson|json)$/i.test(file) ? 'jsonl' : 'csv';
}

/** All examples of a task file, in file order. */
export async function readTaskFile(file: string, opts: ReadTaskOptions = {}): Promise<TaskExample[]> {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) throw new UserError(`${file}: no such task file; check the path`);
  const names = { instruction: opts.columns?.instruction ?? 'instruction', input: opts.columns?.input ?? 'input', output: opts.columns?.output ?? 'output' };
  const required = { instruction: opts.columns?.instruction !== undefined, input: opts.columns?.input !== undefined };
  const examples = (opts.format ?? taskFormat(file)) === 'jsonl' ? await readJsonl(file, names, required, opts) : await readCsvTask(file, names, required, opts);
  if (examples.length === 0) throw new UserError(`${file}: no examples in the file`);
  return examples;
}

type Names = Required<TaskColumns>;

const flagOf = (k: keyof Names) => `--${k}-column`;

function answerMissing(where: string, column: string, k: 'instruction' | 'input' | 'output'): UserError {
  return k === 'output'
    ? new UserError(`${where}, column '${column}': no answer; every example needs a non-empty '${column}' (or name the answer column with --output-column)`)
    : new UserError(`${where}: column '${column}' is missing; it was named with ${flagOf(k)}`);
}

async function readCsvTask(file: string, names: Names, required: { instruction: boolean; input: boolean }, opts: ReadTaskOptions): Promise<TaskExample[]> {
  const out: TaskExample[] = [];
  let cols: Record<keyof Names, number> | undefined;
  let row = 0;
  const ctx = { bad: (m: string) => { throw new UserError(`${file}: ${m}`); }, onBytes: () => {} };
  for await (const rec of csvRows(file, ctx)) {
    if (!cols) {
      const find = (k: keyof Names) => columnOf(rec.header, names[k]);
      cols = { instruction: find('instruction'), input: find('input'), output: find('output') };
      if (cols.output < 0) throw new UserError(`${file}: no column '${names.output}' (the answer); the header has: ${rec.header.join(', ')}; name it with --output-column`);
      for (const k of ['instruction', 'input'] as const) {
        if (cols[k] < 0 && required[k]) throw new UserError(`${file}: no column '${names[k]}' (${flagOf(k)}); the header has: ${rec.header.join(', ')}`);
      }
    }
    row++;
    const where = `${file}: row ${row} (line ${rec.line})`;
    const output = rec.fields[cols.output].trim();
    if (output === '') throw answerMissing(where, names.output, 'output');
    out.push({
      instruction: cols.instruction >= 0 && rec.fields[cols.instruction] !== '' ? rec.fields[cols.instruction] : (opts.instruction ?? ''),
      input: cols.input >= 0 ? rec.fields[cols.input] : '',
      output,
      where,
    });
  }
  if (!cols) throw new UserError(`${file}: empty file; a task CSV needs a header with an '${names.output}' column`);
  return out;
}

async function readJsonl(file: string, names: Names, required: { instruction: boolean; input: boolean }, opts: ReadTaskOptions): Promise<TaskExample[]> {
  const out: TaskExample[] = [];
  for await (const rec of readJsonRecords(file)) {
    if ('bad' in rec) throw new UserError(`${file}: ${rec.bad}`);
    const where = `${file}: row ${rec.row} (line ${rec.line})`;
    if ('problem' in rec) throw new UserError(`${where}: ${rec.problem}; each record must be one JSON object`);
    const r = rec.value;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new UserError(`${where}: not a JSON object; each record must be {"instruction": …, "input": …, "output": …}`);
    const keys = Object.keys(r);
    const field = (k: keyof Names): string | undefined => {
      const at = columnOf(keys, names[k]);
      const v = at < 0 ? undefined : (r as Record<string, unknown>)[keys[at]];
      if (v === undefined || v === null) return undefined;
      if (typeof v === 'string') return v;
      if (typeof v === 'number' || typeof v === 'boolean') return String(v);
      throw new UserError(`${where}, column '${names[k]}': a ${Array.isArray(v) ? 'list' : typeof v}, not text`);
    };
    const output = field('output')?.trim();
    if (output === undefined || output === '') throw answerMissing(where, names.output, 'output');
    for (const k of ['instruction', 'input'] as const) if (required[k] && field(k) === undefined) throw answerMissing(where, names[k], k);
    out.push({ instruction: field('instruction') || (opts.instruction ?? ''), input: field('input') ?? '', output, where });
  }
  return out;
}

export interface TaskSplits<T> {
  train: T[];
  val: T[];
  test: T[];
}

/**
 * A seeded random split of one file's examples: round(n·val) for validation, round(n·test) for test
 * (each at least 1 when its fraction is > 0 and there are enough rows), the rest for training.
 */
export function splitExamples<T>(examples: readonly T[], fractions: { val: number; test: number }, seed = 1337): TaskSplits<T> {
  const { val, test } = fractions;
  if (!(val >= 0 && test >= 0 && val + test < 1)) throw new UserError(`split fractions must be >= 0 and sum below 1, got val ${val} and test ${test}`);
  const n = examples.length;
  const count = (f: number) => (f > 0 ? Math.max(1, Math.round(n * f)) : 0);
  const nTest = count(test);
  const nVal = count(val);
  if (nTest + nVal >= n) throw new UserError(`${n} examples are too few to split into train/val/test (${nVal} val, ${nTest} test); give more rows or separate files`);
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  const pick = (a: number, b: number) => order.slice(a, b).sort((x, y) => x - y).map((i) => examples[i]);
  return { test: pick(0, nTest), val: pick(nTest, nTest + nVal), train: pick(nTest + nVal, n) };
}

/** The label set: distinct outputs of the training examples, in first-seen order. */
export function labelSet(examples: readonly { output: string }[]): string[] {
  return [...new Set(examples.map((e) => e.output))];
}

/**
 * The instruction a request without one gets: the most common among `rows` (the first of equally common ones; ''
 * for none). A fine-tune records it from its training rows (task.json, the .tllm header) and a retrieval store's
 * query uses its rows', so a request carries only its input, as its rows were trained.
 */
export function commonInstruction(rows: readonly TaskFields[]): string {
  const freq = new Map<string, number>();
  for (const r of rows) freq.set(r.instruction, (freq.get(r.instruction) ?? 0) + 1);
  let best = '';
  let most = 0;
  for (const [s, n] of freq) if (n > most) [best, most] = [s, n];
  return best;
}
