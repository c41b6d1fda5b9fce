// Sensor readings → text. A window of CSV rows becomes one document: by default one line per row,
// `[v1 v2 …] label` as in TinyLLM; or one line per channel (`red: v1 v2 …`); or an instruction
// prompt (the task template of src/task/template.ts: `### Instruction:` / `### Input:` / `### Response:`
// / `### End`, TinyLLM's layout); or a custom per-row template with {values}, {label} and {<column>}
// placeholders.
import { renderExample, renderPrompt, TINYLLM_TEMPLATE } from '../task/template.js';

export type Layout = 'rows' | 'columns';
export type Normalize = 'none' | 'minmax';

export interface RenderOptions {
  /** Decimal places; undefined keeps each value as written in the file. */
  precision?: number;
  /** 'minmax' maps each column to [0, 1] with the ranges passed to the renderer. */
  normalize?: Normalize;
  /** 'rows' (default): a line per row; 'columns': a line per channel. */
  layout?: Layout;
  /** 'plain' (default), 'instruction', or a custom per-row template such as `{values} -> {label}`. */
  template?: string;
  /** The instruction text of the 'instruction' template. */
  instruction?: string;
}

export const DEFAULT_INSTRUCTION = 'Classify the sensor readings.';

/** A window of rows: `values[r][c]` as written in the file, and each row's label ('' when none). */
export interface Window {
  columns: readonly string[];
  values: readonly (readonly string[])[];
  labels: readonly string[];
}

/** Per-column [min, max] for min-max normalization. */
export type Ranges = readonly (readonly [number, number])[];

/** The window's label: the most frequent row label (ties go to the later one), '' if none. */
export function windowLabel(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  let best = '';
  let bestCount = 0;
  for (const l of labels) {
    if (l === '') continue;
    const c = (counts.get(l) ?? 0) + 1;
    counts.set(l, c);
    if (c >= bestCount) {
      best = l;
      bestCount = c;
    }
  }
  return best;
}

/** Formats one value under the options (rounding and normalization). */
export function formatValue(raw: string, col: number, opts: RenderOptions, ranges?: Ranges): string {
  if (opts.normalize === 'minmax') {
    const [lo, hi] = ranges?.[col] ?? [0, 1];
    const x = hi > lo ? (Number(raw) - lo) / (hi - lo) : 0;
    return roundTo(x, opts.precision ?? 3);
  }
  return opts.precision === undefined ? raw : roundTo(Number(raw), opts.precision);
}

function roundTo(x: number, decimals: number): string {
  const s = x.toFixed(decimals);
  return s === '-0' || /^-0\.0*$/.test(s) ? s.slice(1) : s;
}

/** Renders the window's values (without labels) in the chosen layout. */
export function renderValues(w: Window, opts: RenderOptions, ranges?: Ranges): string {
  const fmt = (r: number, c: number) => formatValue(w.values[r][c], c, opts, ranges);
  if (opts.layout === 'columns') {
    return w.columns.map((name, c) => `${name}: ${w.values.map((_, r) => fmt(r, c)).join(' ')}`).join('\n');
  }
  return w.values.map((row, r) => `[${row.map((_, c) => fmt(r, c)).join(' ')}]`).join('\n');
}

/** Renders a whole window as one document. */
export function renderWindow(w: Window, opts: RenderOptions = {}, ranges?: Ranges): string {
  const template = opts.template ?? 'plain';
  if (template === 'instruction') {
    const fields = { instruction: opts.instruction ?? DEFAULT_INSTRUCTION, input: renderValues(w, opts, ranges) };
    const output = windowLabel(w.labels);
    // an unlabelled window is a prompt without an answer
    return output ? renderExample(TINYLLM_TEMPLATE, { ...fields, output }) : renderPrompt(TINYLLM_TEMPLATE, fields);
  }
  if (template === 'plain') {
    if (opts.layout === 'columns') {
      const label = windowLabel(w.labels);
      return label ? `${renderValues(w, opts, ranges)}\n${label}` : renderValues(w, opts, ranges);
    }
    return w.values
      .map((row, r) => {
        const values = `[${row.map((v, c) => formatValue(v, c, opts, ranges)).join(' ')}]`;
        return w.labels[r] ? `${values} ${w.labels[r]}` : values;
      })
      .join('\n');
  }
  return w.values
    .map((row, r) =>
      template.replace(/\{([^{}]+)\}/g, (whole, key: string) => {
        if (key === 'values') return row.map((v, c) => formatValue(v, c, opts, ranges)).join(' ');
        if (key === 'label') return w.labels[r];
        const c = w.columns.indexOf(key);
        return c >= 0 ? formatValue(row[c], c, opts, ranges) : whole;
      }),
    )
    .join('\n');
}
