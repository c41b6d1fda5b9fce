// Input files → documents, streamed: plain text (whole file, or split on a separator line), JSON records
// (JSON Lines or one array; one or more string fields), CSV with a text column, and sensor CSV rendered to text in windows (see
// render.ts). Every document carries split keys (see split.ts); bad input goes to `ctx.bad`, which
// throws a UserError naming file, line and column, or counts and skips under --skip-bad.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { oneLine, quote, UserError } from '../util/errors.js';
import { columnOf, delimiterName, readCsv, type CsvRecord, type Delimiter } from './csv.js';
import { readJsonRecords } from './json-records.js';
import { readLines } from './lines.js';
import { renderExample, TINYLLM_TEMPLATE } from '../task/template.js';
import { renderWindow, type Ranges, type RenderOptions } from './render.js';

export type SourceFormat = 'text' | 'jsonl' | 'csv' | 'sensor';

export interface SensorOptions {
  /** Columns to render, in order (default: all but label, group and excluded ones). */
  columns?: string[];
  exclude?: string[];
  /** Column holding each row's label. */
  label?: string;
  /** Column whose value groups rows into samples; windows never cross a group. */
  group?: string;
  /** Rows per document; 0 = a whole group (default 0 with a group, else 16). */
  window?: number;
  /** Rows between window starts (default: the window, i.e. no overlap). */
  stride?: number;
  /**
   * Without a group, rows are split train/val in blocks of this many strides (default: 1 when windows do not
   * overlap, else max(10, 2·window/stride)); overlapping windows that cross two sides are dropped.
   */
  splitBlock?: number;
  render?: RenderOptions;
}

export interface SourceSpec {
  path: string;
  format: SourceFormat;
  /** text: a line equal to this ends a document (default: the whole file is one document). */
  separator?: string;
  /** jsonl: string fields joined into the document (default ['text']). */
  fields?: string[];
  /** jsonl: render Alpaca records ({instruction?, input?, output}) with the task template (src/task/template.ts). */
  instruction?: boolean;
  /** csv: the column holding the text. */
  textColumn?: string;
  sensor?: SensorOptions;
}

export interface Doc {
  text: string;
  /** The document goes to the split of keys[0]; if the other keys disagree it straddles the split and is dropped. */
  keys: string[];
}

export interface SourceContext {
  /** Reports bad input (message starts with 'line N…'); throws unless skipping. */
  bad(message: string): void;
  /** Reports a choice made for the user (e.g. a detected label column), to be shown and recorded. */
  note?(message: string): void;
  /** Bytes of this file read so far (for progress). */
  onBytes(bytes: number): void;
}

/** Format implied by a file name, or undefined. */
export function formatFromPath(p: string): SourceFormat | undefined {
  const lower = p.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv') || lower.endsWith('.tsv')) return 'sensor';
  if (lower.endsWith('.txt') || lower.endsWith('.md')) return 'text';
  return undefined;
}

export function documents(spec: SourceSpec, ctx: SourceContext): AsyncGenerator<Doc> {
  const size = fs.statSync(spec.path, { throwIfNoEntry: false });
  if (!size?.isFile()) throw new UserError(`${spec.path}: no such input file; check the path`);
  if (size.size === 0) ctx.bad('empty file');
  switch (spec.format) {
    case 'text':
      return textDocs(spec, ctx);
    case 'jsonl':
      return jsonlDocs(spec, ctx);
    case 'csv':
      return csvTextDocs(spec, ctx);
    case 'sensor':
      return sensorDocs(spec, ctx);
  }
}

const textDoc = (text: string): Doc => ({ text, keys: [text] });

async function* textDocs(spec: SourceSpec, ctx: SourceContext): AsyncGenerator<Doc> {
  let lines: string[] = [];
  let broken = false;
  const finish = () => {
    const text = lines.join('\n');
    const ok = !broken && text.trim() !== '';
    lines = [];
    broken = false;
    return ok ? text : null;
  };
  for await (const line of readLines(spec.path, ctx.onBytes)) {
    if (line.bad) {
      ctx.bad(line.bad);
      broken = true; // skipping: drop the whole document containing the bad line
    } else if (spec.separator !== undefined && line.text === spec.separator) {
      const text = finish();
      if (text !== null) yield textDoc(text);
    } else lines.push(line.text);
  }
  const text = finish();
  if (text !== null) yield textDoc(text);
}

async function* jsonlDocs(spec: SourceSpec, ctx: SourceContext): AsyncGenerator<Doc> {
  const fields = spec.instruction ? ['instruction', 'input', 'output'] : spec.fields?.length ? spec.fields : ['text'];
  for await (const rec of readJsonRecords(spec.path, ctx.onBytes)) {
    if ('bad' in rec) {
      ctx.bad(rec.bad);
      continue;
    }
    if ('problem' in rec) {
      ctx.bad(`line ${rec.line}: ${rec.problem}; each record must be one JSON object`);
      continue;
    }
    const record = rec.value;
    const parts: string[] = [];
    for (const f of fields) {
      const keys = typeof record === 'object' && record !== null ? Object.keys(record) : [];
      const at = columnOf(keys, f);
      let v = at >= 0 ? (record as Record<string, unknown>)[keys[at]] : undefined;
      if (spec.instruction && f !== 'output') v ??= ''; // instruction and input are optional in Alpaca records
      if (typeof v !== 'string') {
        ctx.bad(`line ${rec.line}: field '${f}' is ${v === undefined ? 'missing' : `a ${typeof v}, not a string`}; ${spec.instruction ? 'instruction records need a string field output and optionally instruction and input' : 'choose the text field(s) with --field'}`);
        break;
      }
      parts.push(v);
    }
    if (parts.length < fields.length) continue;
    yield textDoc(spec.instruction ? renderExample(TINYLLM_TEMPLATE, { instruction: parts[0], input: parts[1], output: parts[2] }) : parts.join(''));
  }
}

/** Reads the header, then yields data records with the header's field count (ragged rows go to ctx.bad). */
export async function* csvRows(path: string, ctx: SourceContext): AsyncGenerator<CsvRecord & { header: string[] }> {
  let header: string[] | undefined;
  for await (const rec of readCsv(path, ctx.onBytes)) {
    if (rec.bad) {
      ctx.bad(rec.bad);
      continue;
    }
    if (!header) {
      header = rec.fields.map((f) => f.trim());
      continue;
    }
    if (rec.fields.length !== header.length) {
      ctx.bad(`line ${rec.line}: ${rec.fields.length} fields, but the header has ${header.length}; fix the row (fields are separated by ${delimiterName(rec.delimiter)}; quote fields that contain them)`);
      continue;
    }
    yield { ...rec, header };
  }
}

function columnIndex(header: string[], name: string, what: string, path: string): number {
  const i = columnOf(header, name);
  if (i < 0) throw new UserError(`${path}: no column '${name}' (${what}); the header has: ${oneLine(header.join(', '), 200)}`);
  return i;
}

async function* csvTextDocs(spec: SourceSpec, ctx: SourceContext): AsyncGenerator<Doc> {
  if (!spec.textColumn) throw new UserError(`${spec.path}: a CSV read as text needs --text-column <name>`);
  let col = -1;
  for await (const rec of csvRows(spec.path, ctx)) {
    if (col < 0) col = columnIndex(rec.header, spec.textColumn, '--text-column', spec.path);
    if (rec.fields[col].trim() !== '') yield textDoc(rec.fields[col]);
  }
}

interface SensorLayout {
  values: number[];
  names: string[];
  label: number;
  group: number;
  /** Choices made for the user: a detected label column, timestamp columns left out. */
  notes: string[];
}

/** Rows read ahead to detect the label and timestamp columns. */
const LOOKAHEAD_ROWS = 32;
const TIME_NAME = /^(time|timestamp|datetime|date|ts|epoch|unix_?time)$|(^|[_ -])(time|timestamp|ts)([_ -]?(s|ms|us|ns|sec|secs|seconds))?$/i;
const DATE_LIKE = /^\d{4}-\d{2}-\d{2}([ T]\d|$)|^\d{1,2}:\d{2}(:\d{2})?/;
const isNumber = (v: string) => v.trim() !== '' && Number.isFinite(Number(v));
/** A sensor cell as a number's text: in a semicolon-separated file a decimal comma (`1010,8`, as spreadsheets in many locales write it) becomes a point. */
const decimalPoint = (v: string, sep: Delimiter) => (sep === ';' && /^\s*[+-]?\d+,\d+\s*$/.test(v) ? v.replace(',', '.') : v);

/** Header and up to LOOKAHEAD_ROWS well-formed data rows from the start of a CSV (bad rows are skipped here; the main pass reports them). */
async function firstRows(path: string): Promise<{ header: string[]; rows: string[][] } | null> {
  const rows: string[][] = [];
  let header: string[] = [];
  for await (const rec of csvRows(path, { bad: () => {}, onBytes: () => {} })) {
    header = rec.header;
    rows.push(rec.fields.map((f) => decimalPoint(f, rec.delimiter)));
    if (rows.length === LOOKAHEAD_ROWS) break;
  }
  return rows.length ? { header, rows } : null;
}

/** A timestamp-like column: named like one, holding dates/times, or numbers that strictly increase row after row. */
function timestampLike(name: string, values: string[]): boolean {
  if (TIME_NAME.test(name.trim())) return true;
  if (values.length > 0 && values.every((v) => DATE_LIKE.test(v.trim()))) return true;
  if (values.length < 8 || !values.every(isNumber)) return false;
  for (let i = 1; i < values.length; i++) if (!(Number(values[i]) > Number(values[i - 1]))) return false;
  return true;
}

/**
 * Which columns a sensor CSV renders. Without --columns, timestamp-like columns are left out and, without
 * --label, a single non-numeric column is taken as the label (both reported as notes); several
 * non-numeric columns are refused with the flags that pick among them.
 */
async function sensorLayout(spec: SourceSpec, o: SensorOptions): Promise<SensorLayout | null> {
  const path = spec.path;
  const first = await firstRows(path);
  if (!first) return null; // no data rows: nothing to render
  const { header, rows } = first;
  const notes: string[] = [];
  let label = o.label ? columnIndex(header, o.label, '--label', path) : -1;
  const group = o.group ? columnIndex(header, o.group, '--group', path) : -1;
  const exclude = new Set((o.exclude ?? []).map((x) => columnIndex(header, x, '--exclude', path)));
  let values: number[];
  if (o.columns?.length) values = o.columns.map((c) => columnIndex(header, c, '--columns', path));
  else {
    values = header.map((_, i) => i).filter((i) => i !== label && i !== group && !exclude.has(i));
    const column = (i: number) => rows.map((r) => r[i]);
    const times = values.filter((i) => timestampLike(header[i], column(i)));
    if (times.length > 0 && times.length < values.length) {
      notes.push(`left out timestamp-like column(s) ${times.map((i) => quote(header[i])).join(', ')} (give --columns to choose the value columns yourself)`);
      values = values.filter((i) => !times.includes(i));
    }
    // a label column holds no numbers at all (a stray bad value in a sensor column is reported by the main pass)
    const text = values.filter((i) => column(i).every((v) => v.trim() === '' || !isNumber(v)) && column(i).some((v) => v.trim() !== ''));
    if (label < 0 && text.length === 1) {
      label = text[0];
      notes.push(`using column ${quote(header[label])} as the label (its values are not numbers; give --label to choose another)`);
      values = values.filter((i) => i !== label);
    } else if (text.length > 1) {
      const names = text.map((i) => quote(header[i])).join(', ');
      throw new UserError(`${path}: columns ${names} hold text, not numbers; name the label with --label <column> and leave the others out with --exclude <column,…>`);
    }
  }
  if (values.length === 0) throw new UserError(`${path}: no value columns left to render; choose them with --columns`);
  return { values, names: values.map((i) => header[i]), label, group, notes };
}

/** Validated numeric values of a row, or a message naming the bad cell. */
function rowValues(rec: CsvRecord, layout: SensorLayout, header: string[]): string[] | string {
  const out: string[] = [];
  for (const i of layout.values) {
    const v = decimalPoint(rec.fields[i], rec.delimiter).trim();
    if (v === '' || !Number.isFinite(Number(v))) {
      return `line ${rec.line}, column ${i + 1} (${quote(header[i])}): ${quote(rec.fields[i])} is not a number; fix the value, or if the column is the label give --label ${quote(header[i])}, else leave it out with --exclude`;
    }
    out.push(v);
  }
  return out;
}

/** First pass for min-max normalization: per-column [min, max] over the file's valid rows. */
async function columnRanges(spec: SourceSpec, layout: SensorLayout): Promise<Ranges> {
  const ranges: [number, number][] = layout.values.map(() => [Infinity, -Infinity]);
  const quiet: SourceContext = { bad: () => {}, onBytes: () => {} };
  for await (const rec of csvRows(spec.path, quiet)) {
    const vals = rowValues(rec, layout, rec.header);
    if (typeof vals === 'string') continue;
    vals.forEach((v, c) => {
      const x = Number(v);
      if (x < ranges[c][0]) ranges[c][0] = x;
      if (x > ranges[c][1]) ranges[c][1] = x;
    });
  }
  return ranges;
}

async function* sensorDocs(spec: SourceSpec, ctx: SourceContext): AsyncGenerator<Doc> {
  const o = spec.sensor ?? {};
  const render = o.render ?? {};
  const window = o.window ?? (o.group ? 0 : 16);
  const stride = o.stride ?? window;
  if (!Number.isInteger(window) || window < 0 || (window === 0 && !o.group)) throw new UserError(`--window must be a positive integer (0 = whole group needs --group), got ${window}`);
  if (window > 0 && (!Number.isInteger(stride) || stride < 1)) throw new UserError(`--stride must be a positive integer, got ${stride}`);
  // Non-overlapping windows can each go their own way; overlapping ones are split in blocks of strides.
  const blockRows = (o.splitBlock ?? (stride >= window ? 1 : Math.max(10, 2 * Math.ceil(window / stride)))) * stride;
  const layout = await sensorLayout(spec, o);
  if (!layout) return;
  for (const n of layout.notes) ctx.note?.(n);
  if (render.template && !['plain', 'instruction'].includes(render.template)) {
    for (const m of render.template.matchAll(/\{([^{}]+)\}/g)) {
      if (m[1] !== 'values' && m[1] !== 'label' && !layout.names.includes(m[1])) {
        throw new UserError(`--template: unknown placeholder {${m[1]}}; use {values}, {label} or a rendered column: ${layout.names.join(', ')}`);
      }
    }
  }
  const ranges = render.normalize === 'minmax' ? await columnRanges(spec, layout) : undefined;

  let buf: { values: string[]; label: string; row: number }[] = [];
  let skip = 0; // rows to pass over when stride > window
  let groupValue: string | undefined;
  let row = 0;
  // Keys use the file's base name, so the split does not depend on the directory or working directory.
  const file = path.basename(spec.path);
  const emit = (rows: typeof buf): Doc => {
    const text = renderWindow({ columns: layout.names, values: rows.map((r) => r.values), labels: rows.map((r) => r.label) }, render, ranges);
    if (o.group) return { text, keys: [`${file}#${groupValue}`] };
    const first = Math.floor(rows[0].row / blockRows);
    const last = Math.floor(rows[rows.length - 1].row / blockRows);
    const keys: string[] = [];
    for (let b = first; b <= last; b++) keys.push(`${file}#block${b}`);
    return { text, keys };
  };
  let emitted = false; // a full window was emitted in this group (or file)
  // At the end of a group (or file): a whole-group document, or a group shorter than one window, is
  // emitted as it is; the partial tail after full windows is not.
  const flush = function* (): Generator<Doc> {
    if (buf.length > 0 && (window === 0 || !emitted)) yield emit(buf);
    buf = [];
    skip = 0;
    emitted = false;
  };

  for await (const rec of csvRows(spec.path, ctx)) {
    const values = rowValues(rec, layout, rec.header);
    if (typeof values === 'string') {
      ctx.bad(values);
      continue;
    }
    if (o.group) {
      const g = rec.fields[layout.group];
      if (g !== groupValue) {
        yield* flush();
        groupValue = g;
      }
    }
    const r = row++;
    if (skip > 0) {
      skip--;
      continue;
    }
    buf.push({ values, label: layout.label >= 0 ? rec.fields[layout.label].trim() : '', row: r });
    if (window > 0 && buf.length === window) {
      yield emit(buf);
      emitted = true;
      buf = buf.slice(Math.min(stride, window));
      skip = Math.max(0, stride - window);
    }
  }
  yield* flush();
}
