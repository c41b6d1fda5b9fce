// `tinyllm prepare <inputs…> --out <dir>`: text / JSONL / CSV / sensor CSV files → GPT-2 tokens →
// llm.c shards with a document-level train/val split and a manifest (src/data/prepare.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { onInterrupt } from '../../util/interrupt.js';
import { resolveTokenizer, tokenizerSpec } from '../../tokenizer/index.js';
import { contextWarning, DEFAULT_SEQ, prepare, type Manifest } from '../../data/prepare.js';
import { prepareBuiltinCorpus } from '../../data/builtin.js';
import { formatFromPath, type SourceFormat, type SourceSpec } from '../../data/sources.js';
import type { Layout, Normalize } from '../../data/render.js';

export const summary = 'tokenize text/JSONL/CSV/sensor files into llm.c shards with a train/val split';

const options = {
  out: { type: 'string', short: 'o', help: 'output directory', default: 'runs/data' },
  name: { type: 'string', help: 'dataset name, the shard prefix (default: first input file name)' },
  format: { type: 'string', help: "input format: text, jsonl (JSON Lines, or one JSON array of records), csv (a text column) or sensor (numeric CSV); default from the extension (.txt/.md text, .jsonl, .csv/.tsv sensor; a CSV's delimiter, comma, semicolon or tab, is read from its header)" },
  'val-input': { type: 'string', multiple: true, help: 'a file that goes entirely to validation (repeatable)' },
  'val-fraction': { type: 'number', min: 0, max: 0.99, help: 'share of documents sent to validation (default 0.1, or 0 with --val-input)' },
  seed: { type: 'number', min: 0, max: 4294967295, integer: true, help: 'seed of the train/val split', default: 1337 },
  seq: { type: 'number', min: 1, integer: true, help: `the sequence length you will pre-train with: documents longer than it get a warning (default: pretrain's default, ${DEFAULT_SEQ})` },
  'shard-tokens': { type: 'number', min: 1, max: 2147483647, integer: true, help: 'tokens per shard (a short last shard shares the one before it evenly, so none is under half of this)', default: 100_000_000 },
  'skip-bad': { type: 'boolean', help: 'skip bad rows/lines (ragged, non-numeric, bad UTF-8) and count them instead of stopping' },
  tokenizer: { type: 'string', help: "'gpt2' or a tokenizer directory/file (vocab.json+merges.txt or tokenizer.json)", default: 'gpt2' },
  'allow-special': { type: 'boolean', help: 'special-token text in the inputs (e.g. <|endoftext|>) becomes the special token instead of plain text', default: false },
  separator: { type: 'string', help: "text: a line equal to this ends a document (e.g. '---'; '' = blank line); default: one document per file" },
  field: { type: 'string', multiple: true, help: "jsonl: string field(s) joined into the document (default 'text'; e.g. --field prompt --field answer)" },
  'text-column': { type: 'string', help: 'csv: the column holding the text' },
  columns: { type: 'string', help: 'sensor: comma-separated value columns (default: all but label/group/excluded)' },
  exclude: { type: 'string', help: 'sensor: comma-separated columns to leave out' },
  label: { type: 'string', help: 'sensor: the label column' },
  group: { type: 'string', help: 'sensor: column grouping rows into samples (windows never cross a sample)' },
  window: { type: 'number', min: 0, integer: true, help: 'sensor: rows per document (0 = whole group; default 0 with --group, else 16)' },
  stride: { type: 'number', min: 1, integer: true, help: 'sensor: rows between window starts (default: the window)' },
  'split-block': { type: 'number', min: 1, integer: true, help: 'sensor without --group: split train/val in blocks of this many strides (default 1 without overlap, else max(10, 2·window/stride))' },
  precision: { type: 'number', min: 0, max: 12, integer: true, help: 'sensor: decimal places (default: values as written)' },
  normalize: { type: 'string', help: 'sensor: none or minmax (per column, to [0,1])', default: 'none' },
  layout: { type: 'string', help: "sensor: 'rows' ([v1 v2 …] label per row) or 'columns' (one line per channel)", default: 'rows' },
  template: { type: 'string', help: "sensor: 'plain', 'instruction' (### Instruction/Input/Response) or a per-row template like '{values} -> {label}'; jsonl: 'instruction' renders {instruction, input, output} records", default: 'plain' },
  instruction: { type: 'string', help: 'sensor: the instruction text of --template instruction' },
  preset: { type: 'string', help: "'sensing': prepare the built-in corpus from a 'tinyllm datasets generate' directory as <out>/sensing_* (sensor logs + gesture/robot training samples) and <out>/web_* (English prose)" },
  quiet: { type: 'boolean', short: 'q', help: 'no progress line or summary' },
  force: { type: 'boolean', help: 'replace a dataset of the same --name in --out (without it, that is refused)' },
} satisfies OptionSpecs;

function printSummary(m: Manifest, out: string, seq: number | undefined): void {
  for (const s of m.sources) for (const n of s.notes ?? []) console.log(`${s.path}: ${n}`);
  for (const split of ['train', 'val'] as const) {
    const s = m.splits[split];
    console.log(`${m.name} ${split.padEnd(5)} ${s.documents} documents, ${s.tokens.toLocaleString('en-US')} tokens in ${s.shards.length} shard(s)${s.shards.length ? `: ${path.join(out, s.shards[0].file)}${s.shards.length > 1 ? ' …' : ''}` : ''}`);
  }
  if (m.valFraction > 0 && m.splits.val.documents === 0) console.log(`warning: no validation documents came out (too little data for --val-fraction ${m.valFraction}); raise it or give --val-input`);
  const skipped = m.sources.reduce((a, s) => a + s.skipped, 0);
  const dropped = m.sources.reduce((a, s) => a + s.droppedAtSplitBoundary, 0);
  if (skipped) console.log(`skipped ${skipped} bad rows/documents, e.g. ${m.sources.flatMap((s) => s.skippedExamples)[0]}`);
  if (dropped) console.log(`dropped ${dropped} overlapping windows that straddle the train/val boundary`);
  const d = m.documentTokens;
  if (d) console.log(`${m.name} documents: median ${d.p50} tokens, 90% up to ${d.p90}, longest ${d.max}`);
  const warning = m.documentTokens && contextWarning(m, seq ?? DEFAULT_SEQ, seq === undefined ? "pretrain's default --seq" : '--seq');
  if (warning) console.log(warning);
  console.log(`manifest: ${path.join(out, m.name)}.manifest.json`);
}

const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

/** Input files: files as given, directories expanded to their known-format files (sorted). */
function expandInputs(paths: string[]): string[] {
  return paths.flatMap((p) => {
    const st = fs.statSync(p, { throwIfNoEntry: false });
    if (!st) throw new UserError(`${p}: no such file or directory`);
    if (!st.isDirectory()) return [p];
    const files = fs.readdirSync(p).filter((f) => formatFromPath(f)).sort().map((f) => path.join(p, f));
    if (files.length === 0) throw new UserError(`${p}: no .txt, .md, .jsonl, .csv or .tsv files in this directory`);
    return files;
  });
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('prepare', argv, options, {
    usage: '<input files or dirs…> [--out <dir>] [--name <name>] [options]',
    summary,
    epilog:
      'Examples:\n' +
      '  tinyllm prepare --preset sensing runs/datasets --out runs/data\n' +
      '  tinyllm prepare runs/datasets/sensor-logs --name sensor --window 16\n' +
      '  tinyllm prepare runs/datasets/text/prose.txt --name web --separator ---\n' +
      '  tinyllm prepare runs/datasets/gesture/train.csv --val-input runs/datasets/gesture/val.csv --name gesture \\\n' +
      '      --group sample --label label --layout columns --template instruction',
  });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (o.preset !== undefined) {
    if (o.preset !== 'sensing') throw new UserError(`option --preset must be 'sensing', got '${o.preset}'`);
    if (positionals.length !== 1) throw new UserError('--preset sensing expects one argument: the directory written by tinyllm datasets generate');
    const interrupt = onInterrupt('interrupted: stopping; nothing more will be written (Ctrl-C again to quit now)');
    try {
      const opts = { datasets: positionals[0], out: o.out, tokenizer: resolveTokenizer(o.tokenizer), tokenizerName: tokenizerSpec(o.tokenizer), seed: o.seed, progress: !o.quiet, force: o.force };
      const { sensing, web } = await prepareBuiltinCorpus({ ...opts, shouldStop: () => interrupt.requested });
      if (!o.quiet) for (const m of [sensing, web]) printSummary(m, o.out, o.seq);
    } finally {
      interrupt.dispose();
    }
    return;
  }
  const files = expandInputs(positionals);
  const valFiles = expandInputs(o['val-input']);
  if (files.length === 0) throw new UserError('no input files given (see tinyllm prepare --help)');
  if (!['none', 'minmax'].includes(o.normalize)) throw new UserError(`option --normalize must be none or minmax, got '${o.normalize}'`);
  if (!['rows', 'columns'].includes(o.layout)) throw new UserError(`option --layout must be rows or columns, got '${o.layout}'`);
  if (o.format !== undefined && !['text', 'jsonl', 'csv', 'sensor'].includes(o.format)) throw new UserError(`option --format must be text, jsonl, csv or sensor, got '${o.format}'`);

  const spec = (p: string): SourceSpec => {
    const format = (o.format as SourceFormat | undefined) ?? (o['text-column'] ? 'csv' : formatFromPath(p));
    if (!format) throw new UserError(`${p}: cannot tell the format from the extension; pass --format text|jsonl|csv|sensor`);
    const s: SourceSpec = { path: p, format };
    if (format === 'text' && o.separator !== undefined) s.separator = o.separator;
    if (format === 'jsonl' && o.field.length) s.fields = o.field;
    if (format === 'jsonl' && o.template === 'instruction') s.instruction = true;
    if (format === 'csv') s.textColumn = o['text-column'];
    if (format === 'sensor') {
      s.sensor = {
        columns: list(o.columns),
        exclude: list(o.exclude),
        label: o.label,
        group: o.group,
        window: o.window,
        stride: o.stride,
        splitBlock: o['split-block'],
        render: { precision: o.precision, normalize: o.normalize as Normalize, layout: o.layout as Layout, template: o.template, instruction: o.instruction },
      };
    }
    return JSON.parse(JSON.stringify(s)) as SourceSpec; // drop undefined options so the manifest stays tidy
  };

  const tokenizer = resolveTokenizer(o.tokenizer);
  const name = o.name ?? path.basename(files[0]).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9._-]/g, '_');
  const interrupt = onInterrupt('interrupted: stopping; nothing will be written (Ctrl-C again to quit now)');
  try {
    const m = await prepare({
      inputs: files.map(spec),
      valInputs: valFiles.map(spec),
      out: o.out,
      name,
      tokenizer,
      tokenizerName: tokenizerSpec(o.tokenizer),
      allowSpecial: o['allow-special'],
      valFraction: o['val-fraction'],
      seed: o.seed,
      shardTokens: o['shard-tokens'],
      skipBad: o['skip-bad'] ?? false,
      progress: !o.quiet,
      shouldStop: () => interrupt.requested,
      force: o.force,
    });
    if (!o.quiet) printSummary(m, o.out, o.seq);
  } finally {
    interrupt.dispose();
  }
}
