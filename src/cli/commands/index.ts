// `tinyllm index`: a local retrieval store (.tlx) from a task file (labelled examples, Alpaca JSONL/CSV) or a
// text corpus (.txt/.md: one passage per paragraph, ended by a blank line or a '---' line), keyed by the numbers in each row,
// BM25 or our GPT-2's embeddings (src/rag). Written atomically; an existing store needs --force.
import * as fs from 'node:fs';
import { readLines } from '../../data/lines.js';
import { availableTiers, setKernels } from '../../kernels/index.js';
import { buildStore, openRetriever, type Embedder, type Retriever } from '../../rag/retrieve.js';
import { defaultEmbedLayer } from '../../rag/embed.js';
import { KEY_KINDS, readStore, writeStore, type KeyKind, type StoredRow } from '../../rag/store.js';
import { readTaskFile } from '../../task/read.js';
import { resolveTokenizer } from '../../tokenizer/gpt2.js';
import { UserError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { parseCommand, type OptionSpecs } from '../args.js';
import { chooseSequenceStart, modelTokenizer, openModel } from './generate.js';
import { parseNumbers } from '../../eval/numbers.js';

export const summary = 'build a local retrieval store (.tlx) from a task file or text corpus, for --rag';

const options = {
  out: { type: 'string', short: 'o', help: 'the store file to write (.tlx)' },
  key: { type: 'string', help: "what rows are compared by: 'numbers' (standardised numbers in the input, for sensor rows), 'bm25' (words, for text) or 'embed' (GPT-2 states, needs --ckpt); default numbers when the rows hold numbers, else bm25" },
  ckpt: { type: 'string', help: 'with --key embed: the model to embed with (queries are embedded with the same model)' },
  layer: { type: 'number', min: 0, integer: true, help: 'with --key embed: hidden states entering block N (0 = embeddings; default: the last block)' },
  tokenizer: { type: 'string', help: "with --key embed: gpt2 or a tokenizer directory (default: the model's)" },
  'sequence-start': { type: 'string', help: "with --key embed: 'endoftext' or 'none' (default: what the model records)" },
  'instruction-column': { type: 'string', help: "field/column of the instruction (default 'instruction', optional)" },
  'input-column': { type: 'string', help: "field/column of the input (default 'input', optional)" },
  'output-column': { type: 'string', help: "field/column of the answer (default 'output')" },
  instruction: { type: 'string', help: 'instruction for rows without one' },
  force: { type: 'boolean', help: 'overwrite an existing store', default: false },
  kernels: { type: 'string', help: `kernel tier: ${availableTiers().join(', ')} (default: the fastest)` },
  threads: { type: 'number', min: 1, max: 256, integer: true, help: 'threads for the kernels (default: all cores)' },
} satisfies OptionSpecs;

const EPILOG = `Examples:
  tinyllm index data/train.jsonl -o gestures.tlx --key numbers
  tinyllm index notes.txt -o notes.tlx --key bm25
  tinyllm eval --ckpt runs/ft --train data/train.jsonl --test data/test.jsonl --rag gestures.tlx --k 4`;

/** A text corpus: one passage per paragraph (lines up to a blank line or a '---' line). */
async function readCorpus(file: string): Promise<StoredRow[]> {
  const rows: StoredRow[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) rows.push({ instruction: '', input: para.join('\n'), output: '' });
    para = [];
  };
  for await (const line of readLines(file)) {
    if (line.bad) throw new UserError(`${file}: ${line.bad}`);
    if (line.text.trim() === '' || line.text.trim() === '---') flush();
    else para.push(line.text);
  }
  flush();
  if (rows.length === 0) throw new UserError(`${file}: no text in the corpus`);
  return rows;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('index', argv, options, { usage: '<task file | text corpus> -o <store.tlx> [--key numbers|bm25|embed] [options]', summary, epilog: EPILOG });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length !== 1) throw new UserError(`expected one task file or text corpus, got ${positionals.length} (see tinyllm index --help)`);
  const [source] = positionals;
  if (!o.out) throw new UserError('-o/--out is required: the store file to write');
  if (fs.existsSync(o.out) && !o.force) throw new UserError(`${o.out} exists; give --force to overwrite it or choose another file`);
  if (o.key !== undefined && !(KEY_KINDS as readonly string[]).includes(o.key)) throw new UserError(`--key must be ${KEY_KINDS.join(', ')}, got '${o.key}'`);
  if (o.key !== 'embed' && (o.ckpt !== undefined || o.layer !== undefined)) throw new UserError('--ckpt and --layer are for --key embed');
  if (o.kernels !== undefined || o.threads !== undefined) setKernels(o.kernels ?? (availableTiers().at(-1) as string), { threads: o.threads });
  if (!fs.statSync(source, { throwIfNoEntry: false })?.isFile()) throw new UserError(`${source}: no such file`);

  const t0 = performance.now();
  const corpus = /\.(txt|md|text)$/i.test(source);
  const rows: StoredRow[] = corpus
    ? await readCorpus(source)
    : (await readTaskFile(source, { columns: { instruction: o['instruction-column'], input: o['input-column'], output: o['output-column'] }, instruction: o.instruction })).map(({ instruction, input, output }) => ({ instruction, input, output }));
  const kind: KeyKind = (o.key as KeyKind | undefined) ?? (rows.some((r) => parseNumbers(r.input).length > 0) ? 'numbers' : 'bm25');
  let embedder: Embedder | undefined;
  if (kind === 'embed') {
    if (!o.ckpt) throw new UserError('--key embed needs --ckpt: the model whose hidden states are the keys');
    const { model, tokenizer: saved, sequenceStart } = await openModel(o.ckpt);
    const codec = modelTokenizer(o.tokenizer, saved, resolveTokenizer);
    const name = o.tokenizer ?? (typeof saved === 'string' ? saved : ''); // '' = the tokenizer the model file carries (GGUF)
    if (!codec) throw new UserError('--key embed needs a tokenizer; give --tokenizer gpt2 or a tokenizer directory');
    embedder = { model, codec, layer: o.layer ?? defaultEmbedLayer(model), modelPath: o.ckpt, tokenizer: name, sequenceStart: chooseSequenceStart(o['sequence-start'], sequenceStart), allowSpecial: false };
  }
  const progress = kind === 'embed' ? new Progress('index', rows.length, { unit: 'rows' }) : null; // the other keys take milliseconds
  const store = buildStore(rows, kind, source, embedder, (done) => progress?.update(done));
  progress?.finish();
  writeStore(o.out, store);
  const bytes = fs.statSync(o.out).size;
  const what = corpus ? 'passages' : 'labelled examples';
  console.log(`${o.out}: ${rows.length} ${what}, ${kind} key${store.dim ? ` (${store.dim} numbers per row)` : ''}, ${(bytes / 1024).toFixed(1)} KiB, ${((performance.now() - t0) / 1000).toFixed(2)} s`);
}

/** A store opened for `--rag` (eval, generate): an embed store loads the model it was built with. */
export async function openRag(file: string): Promise<Retriever> {
  const store = readStore(file);
  const key = store.key;
  if (key.kind !== 'embed') return openRetriever(store);
  if (!fs.existsSync(key.model)) throw new UserError(`${file}: its embeddings come from ${key.model}, which is not found from here; index again with --ckpt`);
  const { model, tokenizer: saved } = await openModel(key.model);
  const codec = modelTokenizer(key.tokenizer || undefined, saved, resolveTokenizer);
  if (!codec) throw new UserError(`${file}: tokenizer ${key.tokenizer} not found`);
  return openRetriever(store, { model, codec, layer: key.layer, modelPath: key.model, tokenizer: key.tokenizer, sequenceStart: key.sequenceStart, allowSpecial: key.allowSpecial });
}
