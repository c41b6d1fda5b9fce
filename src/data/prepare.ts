// `tinyllm prepare`: input files → documents → GPT-2 tokens → llm.c shards, streamed with constant
// memory, like llm.c's dev/data/*.py scripts: <|endoftext|> before every document, shards of a fixed
// token count (default 100M) named <name>_train_000000.bin / <name>_val_000000.bin, split by whole
// documents (split.ts) and described by <name>.manifest.json. Everything is written to a staging
// directory and moved into place at the end, so a failed or interrupted run leaves nothing behind.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSequence } from '../task/sequence.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { UserError } from '../util/errors.js';
import { processAlive, writeFileAtomic } from '../util/fs.js';
import { Interrupted } from '../util/interrupt.js';
import { Progress } from '../util/progress.js';
import type { Split } from './loader.js';
import { forEachTokenChunk, ShardFileWriter } from './shard.js';
import { documents, type SourceSpec } from './sources.js';
import { splitOf } from './split.js';

export const DEFAULT_SHARD_TOKENS = 100_000_000;
export const MANIFEST_SUFFIX = '.manifest.json';

export interface ShardInfo {
  file: string;
  tokens: number;
}

export interface SplitSummary {
  documents: number;
  tokens: number;
  shards: ShardInfo[];
}

export interface SourceSummary extends Omit<SourceSpec, 'path'> {
  path: string;
  bytes: number;
  /** Which split the source feeds: 'split' = hashed train/val, 'val' = validation only. */
  role: 'split' | 'val';
  documents: Record<Split, number>;
  /** Bad rows/lines/documents skipped under --skip-bad (and the first few messages). */
  skipped: number;
  skippedExamples: string[];
  /** Overlapping windows dropped because they straddle the train/val boundary. */
  droppedAtSplitBoundary: number;
  /** Choices made for the user, e.g. a detected label column or timestamp columns left out. */
  notes?: string[];
}

export interface Manifest {
  format: 'tinyllm-shards';
  version: 1;
  name: string;
  tokenizer: { name: string; vocabSize: number; eotToken: number };
  seed: number;
  valFraction: number;
  shardTokens: number;
  sources: SourceSummary[];
  splits: Record<Split, SplitSummary>;
  /** Actual share of documents and tokens in validation. */
  ratios: { valDocuments: number; valTokens: number };
  /** Tokens per document (with its <|endoftext|>), over both splits: median, 90th and 99th percentile, longest. */
  documentTokens?: DocumentTokens;
  /** Present for mixes: the component datasets and their target token shares. */
  mix?: { dataset: string; weight: number; share: number; tokens: Record<Split, number>; repeats: Record<Split, number> }[];
}

export interface DocumentTokens {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** pretrain's default sequence length (--seq), which prepare compares document lengths with. */
export const DEFAULT_SEQ = 64;

/** Percentiles of document lengths (nearest rank). */
export function documentTokens(lengths: ArrayLike<number>): DocumentTokens {
  const sorted = Uint32Array.from(lengths).sort();
  const at = (q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted.length ? sorted[sorted.length - 1] : 0 };
}

/**
 * A warning when documents are longer than the training sequence length T: a model trained on T-token windows
 * never sees the end of a longer document (e.g. a label) together with its start. Null when they fit.
 */
export function contextWarning(m: Pick<Manifest, 'name' | 'documentTokens'>, T: number, seqFlag = '--seq'): string | null {
  const d = m.documentTokens;
  if (!d || d.p90 <= T) return null;
  return (
    `warning: documents of ${m.name} are longer than ${seqFlag} ${T}: median ${d.p50} tokens, 90% up to ${d.p90}, longest ${d.max}; ` +
    `a model trained on ${T}-token windows rarely sees a document's end (its label) with its start — ` +
    `train with --seq ${d.p90} or more (and --block-size to match), or make documents shorter (prepare --window)`
  );
}

export interface PrepareOptions {
  inputs: SourceSpec[];
  /** Inputs that go entirely to validation (e.g. a provided val.csv). */
  valInputs?: SourceSpec[];
  out: string;
  name: string;
  tokenizer: Tokenizer;
  tokenizerName: string;
  /** Share of documents (by hashed key) sent to validation from `inputs` (default 0.1; 0 when valInputs are given). */
  valFraction?: number;
  seed?: number;
  shardTokens?: number;
  skipBad?: boolean;
  /** Show a progress line (default true). */
  progress?: boolean;
  /** Polled between documents; returning true aborts the run (nothing is written). */
  shouldStop?: () => boolean;
  /** Special-token text in the documents becomes special ids (default: plain text, as tiktoken). */
  allowSpecial?: boolean;
  /** Replace a dataset of the same name in `out` (default: refuse, before any work). */
  force?: boolean;
}

/** Writes one split's token stream as consecutive shards of `shardTokens` tokens (the last two balanced, see balanceTail). */
export class SplitWriter {
  readonly shards: ShardInfo[] = [];
  documents = 0;
  tokens = 0;
  /** Token count of every document written, for the manifest's length percentiles. */
  lengths: number[] = [];
  private current: ShardFileWriter | null = null;

  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly shardTokens: number,
  ) {}

  /** Appends one document's tokens (the caller includes the leading <|endoftext|>). */
  writeDocument(tokens: ArrayLike<number>): void {
    let off = 0;
    while (off < tokens.length) {
      this.current ??= new ShardFileWriter(path.join(this.dir, `${this.prefix}_${String(this.shards.length).padStart(6, '0')}.bin`));
      const n = Math.min(tokens.length - off, this.shardTokens - this.current.numTokens);
      this.current.write(off === 0 && n === tokens.length ? tokens : Array.prototype.slice.call(tokens, off, off + n));
      off += n;
      if (this.current.numTokens === this.shardTokens) this.closeShard();
    }
    this.documents++;
    this.tokens += tokens.length;
    this.lengths.push(tokens.length);
  }

  private closeShard(): void {
    const w = this.current as ShardFileWriter;
    this.shards.push({ file: path.basename(w.path), tokens: w.close() });
    this.current = null;
  }

  finish(): SplitSummary {
    if (this.current) this.closeShard();
    this.balanceTail();
    return { documents: this.documents, tokens: this.tokens, shards: this.shards };
  }

  /**
   * A last shard under half of shardTokens shares the tokens of the one before it evenly, so no shard of a
   * multi-shard split is smaller than shardTokens/2 (llm.c's loader asserts every shard holds at least B·T+1).
   */
  private balanceTail(): void {
    const n = this.shards.length;
    if (n < 2 || 2 * this.shards[n - 1].tokens >= this.shardTokens) return;
    const [a, b] = [this.shards[n - 2], this.shards[n - 1]];
    const files = [a, b].map((s) => path.join(this.dir, s.file));
    const firstLen = Math.ceil((a.tokens + b.tokens) / 2);
    const writers = files.map((f) => new ShardFileWriter(`${f}.balanced`));
    let seen = 0;
    for (const f of files) {
      forEachTokenChunk(f, (t) => {
        const k = Math.max(0, Math.min(t.length, firstLen - seen));
        if (k > 0) writers[0].write(t.subarray(0, k));
        if (k < t.length) writers[1].write(t.subarray(k));
        seen += t.length;
      });
    }
    [a.tokens, b.tokens] = writers.map((w) => w.close());
    files.forEach((f) => fs.renameSync(`${f}.balanced`, f));
  }

  abort(): void {
    this.current?.abort();
    this.current = null;
  }
}

/** File names of dataset `name`'s shards. */
function shardFilePattern(name: string): RegExp {
  return new RegExp(`^${name.replace(/[.]/g, '\\.')}_(train|val)_\\d{6}\\.bin$`);
}

/** Throws when `out` already holds a dataset `name` (its manifest or any shard): never replaced without --force. */
export function checkDatasetFree(out: string, name: string): void {
  if (!fs.existsSync(out)) return;
  const stale = shardFilePattern(name);
  const there = fs.readdirSync(out).filter((f) => f === name + MANIFEST_SUFFIX || stale.test(f));
  if (there.length > 0) {
    throw new UserError(`${path.join(out, name)}: a dataset named '${name}' is already there (${there.slice(0, 3).join(', ')}${there.length > 3 ? ', …' : ''}); pass --force to replace it, or give another --name`);
  }
}

/**
 * Runs `fill` with train and val writers in a staging directory inside `out`; on success moves the
 * shards into place (removing stale shards of the same name) and writes the manifest last. A dataset of the
 * same name already in `out` is refused before any work unless `replace` (the commands' --force).
 */
export async function writeDataset(
  out: string,
  name: string,
  shardTokens: number,
  fill: (writers: Record<Split, SplitWriter>) => Promise<Omit<Manifest, 'splits' | 'ratios' | 'name' | 'shardTokens' | 'format' | 'version'>>,
  replace = false,
): Promise<Manifest> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new UserError(`--name must be letters, digits, '.', '_' or '-', got '${name}'`);
  if (!(Number.isInteger(shardTokens) && shardTokens >= 1 && shardTokens < 2 ** 31)) throw new UserError(`--shard-tokens must be an integer in [1, 2^31), got ${shardTokens}`);
  if (!replace) checkDatasetFree(out, name);
  const stale = shardFilePattern(name);
  fs.mkdirSync(out, { recursive: true });
  // Staging directories are named .<name>.staging-<pid>-XXXXXX; ones left by a crashed run are removed.
  const prefix = `.${name}.staging-`;
  for (const f of fs.readdirSync(out)) {
    if (f.startsWith(prefix) && !processAlive(Number(f.slice(prefix.length).split('-')[0]))) fs.rmSync(path.join(out, f), { recursive: true, force: true });
  }
  const staging = fs.mkdtempSync(path.join(out, `${prefix}${process.pid}-`));
  const writers = { train: new SplitWriter(staging, `${name}_train`, shardTokens), val: new SplitWriter(staging, `${name}_val`, shardTokens) };
  try {
    const rest = await fill(writers);
    const splits = { train: writers.train.finish(), val: writers.val.finish() };
    const docs = splits.train.documents + splits.val.documents;
    const toks = splits.train.tokens + splits.val.tokens;
    const manifest: Manifest = {
      format: 'tinyllm-shards',
      version: 1,
      name,
      shardTokens,
      ...rest,
      splits,
      ratios: { valDocuments: docs ? splits.val.documents / docs : 0, valTokens: toks ? splits.val.tokens / toks : 0 },
      documentTokens: documentTokens([...writers.train.lengths, ...writers.val.lengths]),
    };
    const fresh = new Set([...splits.train.shards, ...splits.val.shards].map((s) => s.file));
    for (const f of fs.readdirSync(out)) if (stale.test(f) && !fresh.has(f)) fs.rmSync(path.join(out, f));
    for (const f of fresh) fs.renameSync(path.join(staging, f), path.join(out, f));
    writeFileAtomic(path.join(out, name + MANIFEST_SUFFIX), JSON.stringify(manifest, null, 2) + '\n');
    return manifest;
  } catch (e) {
    writers.train.abort();
    writers.val.abort();
    throw e;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** Prepares shards from the inputs; returns the manifest (also written to <out>/<name>.manifest.json). */
export async function prepare(opts: PrepareOptions): Promise<Manifest> {
  const seed = opts.seed ?? 1337;
  const valInputs = opts.valInputs ?? [];
  const valFraction = opts.valFraction ?? (valInputs.length ? 0 : 0.1);
  if (!(valFraction >= 0 && valFraction < 1)) throw new UserError(`--val-fraction must be in [0, 1), got ${valFraction}`);
  if (opts.inputs.length + valInputs.length === 0) throw new UserError('no input files given (see tinyllm prepare --help)');
  const all = [...opts.inputs.map((s) => ({ spec: s, role: 'split' as const })), ...valInputs.map((s) => ({ spec: s, role: 'val' as const }))];
  for (const { spec } of all) if (!fs.statSync(spec.path, { throwIfNoEntry: false })?.isFile()) throw new UserError(`${spec.path}: no such input file; check the path`);
  const sizes = all.map(({ spec }) => fs.statSync(spec.path).size);
  const totalBytes = sizes.reduce((a, b) => a + b, 0);
  const tok = opts.tokenizer;
  if (tok.vocabSize > 65536) throw new UserError(`the tokenizer has ${tok.vocabSize} tokens, but shards store uint16 ids (at most 65536); use a smaller vocabulary`);
  const progress = opts.progress === false ? null : new Progress('prepare', totalBytes, { unit: 'MB', scale: 1e6 });

  return writeDataset(opts.out, opts.name, opts.shardTokens ?? DEFAULT_SHARD_TOKENS, async (writers) => {
    const sources: SourceSummary[] = [];
    let bytesBefore = 0;
    let tokens = 0;
    for (const [i, { spec, role }] of all.entries()) {
      const summary: SourceSummary = { ...spec, bytes: sizes[i], role, documents: { train: 0, val: 0 }, skipped: 0, skippedExamples: [], droppedAtSplitBoundary: 0 };
      const ctx = {
        bad(message: string) {
          const where = `${spec.path}: ${message}`;
          if (!opts.skipBad) throw new UserError(`${where} (or pass --skip-bad to skip bad rows and count them)`);
          summary.skipped++;
          if (summary.skippedExamples.length < 5) summary.skippedExamples.push(where);
        },
        note(message: string) {
          (summary.notes ??= []).push(message);
        },
        onBytes(b: number) {
          progress?.update(bytesBefore + b, `${tokens.toLocaleString('en-US')} tokens`);
        },
      };
      for await (const doc of documents(spec, ctx)) {
        if (opts.shouldStop?.()) throw new Interrupted('nothing was written (the staging directory was removed)');
        let split: Split = 'val';
        if (role === 'split') {
          split = splitOf(doc.keys[0], valFraction, seed);
          if (doc.keys.some((k) => splitOf(k, valFraction, seed) !== split)) {
            summary.droppedAtSplitBoundary++;
            continue;
          }
        }
        const ids = encodeSequence(tok, doc.text, { allowSpecial: opts.allowSpecial }); // <|endoftext|> first, as every sequence starts
        writers[split].writeDocument(ids);
        summary.documents[split]++;
        tokens += ids.length;
      }
      bytesBefore += sizes[i];
      sources.push(summary);
    }
    progress?.finish(`${tokens.toLocaleString('en-US')} tokens`);
    if (writers.train.documents === 0) {
      throw new UserError(`no training documents came out of the inputs${sources.some((s) => s.skipped) ? ' (all were skipped as bad)' : ''}; check the inputs and --val-fraction`);
    }
    return { tokenizer: { name: opts.tokenizerName, vocabSize: tok.vocabSize, eotToken: tok.eotToken }, seed, valFraction, sources };
  }, opts.force);
}
