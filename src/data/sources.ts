// Input files → documents, streamed: plain text (whole file, or split on a separator line), JSONL (one
// or more string fields), CSV with a text column, and sensor CSV rendered to text in windows (see
// render.ts). Every document carries split keys (see split.ts); bad input goes to `ctx.bad`, which
// throws a UserError naming file, line and column, or counts and skips under --skip-bad.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.js';
import { readCsv, type CsvRecord } from './csv.js';
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
  /** Bytes of this file read so far (for progress). */
  onBytes(bytes: number): void;
}

/** Format implied by a file name, or undefined. */
export function formatFromPath(p: string): SourceFormat | undefined {
  const lower = p.toLowerCase();
  if (lower.endsWith('.jsonl') || lower.endsWith('.ndjson')) return 'jsonl';
  if (lower.endsWith('.csv')) return 'sensor';
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
  for await (const line of readLines(spec.path, ctx.onBytes)) {
    if (line.bad) {
      ctx.bad(line.bad);
      continue;
    }
    if (line.text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line.text);
    } catch (e) {
      ctx.bad(`line ${line.number}: not valid JSON (${(e as Error).message}); each line must be one JSON object`);
      continue;
    }
    const parts: string[] = [];
    for (const f of fields) {
      let v = typeof record === 'object' && record !== null ? (record as Record<string, unknown>)[f] : undefined;
      if (spec.instruction && f !== 'output') v ??= ''; // instruction and input are optional in Alpaca records
      if (typeof v !== 'string') {
        ctx.bad(`line ${line.number}: field '${f}' is ${v === undefined ? 'missing' : `a ${typeof v}, not a string`}; ${spec.instruction ? 'instruction records need a string field output and optionally instruction and input' : 'choose the text field(s) with --field'}`);
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
      ctx.bad(`line ${rec.line}: ${rec.fields.length} fields, but the header has ${header.length}; fix the row (quote fields that contain commas)`);
      continue;
    }
    yield { ...rec, header };
  }
}

function columnIndex(header: string[], name: string, what: string, path: string): number {
  const i = header.indexOf(name);
  if (i < 0) throw new UserError(`${path}: no column '${name}' (${what}); the header has: ${header.join(', ')}`);
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
}

function sensorLayout(header: string[], o: SensorOptions, path: string): SensorLayout {
  const label = o.label ? columnIndex(header, o.label, '--label', path) : -1;
  const group = o.group ? columnIndex(header, o.group, '--group', path) : -1;
  for (const x of o.exclude ?? []) columnIndex(header, x, '--exclude', path);
  const values = o.columns?.length
    ? o.columns.map((c) => columnIndex(header, c, '--columns', path))
    : header.map((_, i) => i).filter((i) => i !== label && i !== group && !(o.exclude ?? []).includes(header[i]));
  if (values.length === 0) throw new UserError(`${path}: no value columns left to render; choose them with --columns`);
  return { values, names: values.map((i) => header[i]), label, group };
}

/** Validated numeric values of a row, or a message naming the bad cell. */
function rowValues(rec: CsvRecord, layout: SensorLayout, header: string[]): string[] | string {
  const out: string[] = [];
  for (const i of layout.values) {
    const v = rec.fields[i].trim();
    if (v === '' || !Number.isFinite(Number(v))) {
      return `line ${rec.line}, column ${i + 1} ('${header[i]}'): '${rec.fields[i]}' is not a number; fix the value, or leave the column out with --columns/--exclude`;
    }
    out.push(v);
  }
  return out;
}

/** First pass for min-max normalization: per-column [min, max] over the file's valid rows. */
async function columnRanges(spec: SourceSpec, o: SensorOptions): Promise<Ranges> {
  let layout: SensorLayout | undefined;
  let ranges: [number, number][] = [];
  const quiet: SourceContext = { bad: () => {}, onBytes: () => {} };
  for await (const rec of csvRows(spec.path, quiet)) {
    layout ??= sensorLayout(rec.header, o, spec.path);
    if (ranges.length === 0) ranges = layout.values.map(() => [Infinity, -Infinity]);
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
  const ranges = render.normalize === 'minmax' ? await columnRanges(spec, o) : undefined;

  let layout: SensorLayout | undefined;
  let buf: { values: string[]; label: string; row: number }[] = [];
  let skip = 0; // rows to pass over when stride > window
  let groupValue: string | undefined;
  let row = 0;
  // Keys use the file's base name, so the split does not depend on the directory or working directory.
  const file = path.basename(spec.path);
  const emit = (rows: typeof buf): Doc => {
    const text = renderWindow({ columns: (layout as SensorLayout).names, values: rows.map((r) => r.values), labels: rows.map((r) => r.label) }, render, ranges);
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
    if (!layout) {
      layout = sensorLayout(rec.header, o, spec.path);
      if (render.template && !['plain', 'instruction'].includes(render.template)) {
        for (const m of render.template.matchAll(/\{([^{}]+)\}/g)) {
          if (m[1] !== 'values' && m[1] !== 'label' && !layout.names.includes(m[1])) {
            throw new UserError(`--template: unknown placeholder {${m[1]}}; use {values}, {label} or a rendered column: ${layout.names.join(', ')}`);
          }
        }
      }
    }
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
