// Mixing prepared datasets by token ratio (TinyLLM mixes sensor:web at 0:1, 2:8, 4:6), streamed:
// whole documents are interleaved, always taking the next one from the source furthest below its
// share, so after every document each source's token share is within one document of its target.
// Train and val are mixed separately, so a mix's validation stays disjoint from its training.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveTokenizer, tokenizerSpec, type BpeTokenizer } from '../tokenizer/index.js';
import { oneLine, quoteValue, UserError } from '../util/errors.js';
import { isCount, isObject } from '../util/guards.js';
import { Progress } from '../util/progress.js';
import { readDocuments } from './docstream.js';
import { resolveShards, type Split } from './loader.js';
import { MANIFEST_SUFFIX, writeDataset, type Manifest } from './prepare.js';

export interface MixInput {
  /** A prepared dataset: `dir/name`, its `.manifest.json`, or a directory holding exactly one manifest. */
  dataset: string;
  weight: number;
}

export interface MixOptions {
  inputs: MixInput[];
  out: string;
  name: string;
  /**
   * Training tokens to produce. Default: stop when the first source runs out (no repeats). A larger
   * target repeats the smaller sources (counted in the manifest as `repeats`); validation is then
   * mixed to the same train:val proportion as the sources.
   */
  tokens?: number;
  /** Most times a source may be repeated to reach its share of `tokens` (default 10); more is refused. */
  maxRepeats?: number;
  shardTokens?: number;
  /** Show a progress line (default true). */
  progress?: boolean;
  /** Replace a dataset of the same name in `out` (default: refuse, before any work). */
  force?: boolean;
}

export interface Dataset {
  ref: string;
  dir: string;
  manifest: Manifest;
}

export const DEFAULT_MAX_REPEATS = 10;

/** Finds a prepared dataset's manifest (see MixInput.dataset) and reads it. */
export function loadDataset(ref: string): Dataset {
  let file = ref.endsWith(MANIFEST_SUFFIX) ? ref : `${ref}${MANIFEST_SUFFIX}`;
  if (fs.statSync(ref, { throwIfNoEntry: false })?.isDirectory()) {
    const found = fs.readdirSync(ref).filter((f) => f.endsWith(MANIFEST_SUFFIX));
    if (found.length !== 1) {
      throw new UserError(`${ref}: ${found.length ? `holds ${found.length} datasets (${found.join(', ')}); name one as ${path.join(ref, '<name>')}` : `no dataset manifest (*${MANIFEST_SUFFIX}) here; create one with 'tinyllm prepare --out ${ref}'`}`);
    }
    file = path.join(ref, found[0]);
  }
  let manifest: unknown;
  try {
    manifest = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${ref}: cannot read dataset manifest ${file} (${oneLine((e as NodeJS.ErrnoException).code ?? (e as Error).message)}); give a prepared dataset as <dir>/<name>`);
  }
  return { ref, dir: path.dirname(file), manifest: checkManifest(file, manifest) };
}


/** Checks the manifest fields its readers (mix, inspect, training) use; shard names must be plain file names in its directory. */
function checkManifest(file: string, m: unknown): Manifest {
  const bad: (what: string) => never = (what) => {
    throw new UserError(`${file}: ${what}; re-create the dataset with 'tinyllm prepare'`);
  };
  if (!isObject(m) || m.format !== 'tinyllm-shards' || m.version !== 1) {
    throw new UserError(`${file}: not a tinyllm dataset manifest (format ${quoteValue(isObject(m) ? m.format : m)}, version ${quoteValue(isObject(m) ? m.version : undefined)})`);
  }
  if (typeof m.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(m.name)) bad(`bad "name" ${quoteValue(m.name)}`);
  const t = m.tokenizer;
  if (!isObject(t) || typeof t.name !== 'string' || !isCount(t.vocabSize) || !isCount(t.eotToken) || t.eotToken >= t.vocabSize) bad(`bad "tokenizer" ${quoteValue(t)}`);
  if (!isCount(m.shardTokens) || m.shardTokens === 0 || m.shardTokens >= 2 ** 31) bad(`bad "shardTokens" ${quoteValue(m.shardTokens)}`);
  if (!isObject(m.splits)) bad('"splits" missing');
  for (const split of ['train', 'val']) {
    const s = (m.splits as Record<string, unknown>)[split];
    const shardOk = (x: unknown) => isObject(x) && typeof x.file === 'string' && /^[^/\\]+\.bin$/.test(x.file) && !x.file.startsWith('..') && isCount(x.tokens);
    if (!isObject(s) || !isCount(s.documents) || !isCount(s.tokens) || !Array.isArray(s.shards) || !s.shards.every(shardOk)) bad(`bad "splits.${split}" ${quoteValue(s)}`);
    const listed = (s.shards as { tokens: number }[]).reduce((n, x) => n + x.tokens, 0);
    if (listed !== s.tokens) bad(`"splits.${split}" has ${s.tokens} tokens but its shards list ${listed}`);
  }
  if (!Array.isArray(m.sources) || !m.sources.every((x) => isObject(x) && isObject(x.documents))) bad('bad "sources"');
  if (m.mix !== undefined && !(Array.isArray(m.mix) && m.mix.every((x) => isObject(x) && isObject(x.tokens) && isObject(x.repeats)))) bad('bad "mix"');
  if (!isObject(m.ratios)) bad('"ratios" missing');
  return m as unknown as Manifest;
}

/** The prepared dataset whose shards a loader pattern (directory, prefix or .bin) names, or null for shards without a manifest. */
export function datasetOfShards(pattern: string): Dataset | null {
  const m = /^(.*)_(train|val)_\d{6}\.bin$/.exec(resolveShards(pattern)[0]);
  return m && fs.existsSync(m[1] + MANIFEST_SUFFIX) ? loadDataset(m[1] + MANIFEST_SUFFIX) : null;
}

/**
 * The tokenizer a dataset was prepared with (its manifest's), or `given` (a --tokenizer value) when it has the
 * same vocabulary; a UserError names both when they differ, or when the manifest's tokenizer cannot be found.
 * Returns the spec to record (tokenizerSpec form) and the tokenizer.
 */
export function datasetTokenizer(ds: Dataset, given?: string): { spec: string; tokenizer: BpeTokenizer } {
  const t = ds.manifest.tokenizer;
  const file = path.join(ds.dir, ds.manifest.name + MANIFEST_SUFFIX);
  let spec = tokenizerSpec(given ?? t.name);
  // manifests from before paths were recorded absolute: a relative path may be relative to the dataset
  if (given === undefined && spec !== 'gpt2' && !fs.existsSync(spec) && fs.existsSync(path.resolve(ds.dir, t.name))) spec = path.resolve(ds.dir, t.name);
  let tokenizer: BpeTokenizer;
  try {
    tokenizer = resolveTokenizer(spec);
  } catch (e) {
    if (!(e instanceof UserError) || given !== undefined) throw e;
    throw new UserError(`${file}: the data was prepared with tokenizer ${t.name}, which cannot be loaded (${e.message}); give the same tokenizer with --tokenizer`);
  }
  if (tokenizer.vocabSize !== t.vocabSize || tokenizer.eotToken !== t.eotToken) {
    throw new UserError(
      `--tokenizer ${given} has ${tokenizer.vocabSize} tokens (<|endoftext|> = ${tokenizer.eotToken}), but ${ds.ref} was prepared with ${t.name} ` +
        `(${t.vocabSize} tokens, <|endoftext|> = ${t.eotToken}); drop --tokenizer to use the dataset's, or re-run 'tinyllm prepare' with this one`,
    );
  }
  return { spec, tokenizer };
}

/** Mixes the inputs into a new dataset in `out`; returns its manifest. */
export async function mix(opts: MixOptions): Promise<Manifest> {
  const inputs = opts.inputs.filter((i) => i.weight > 0);
  for (const i of opts.inputs) if (!(i.weight >= 0 && Number.isFinite(i.weight))) throw new UserError(`${i.dataset}: weight must be a number >= 0, got ${i.weight}`);
  if (inputs.length === 0) throw new UserError('mix needs at least one dataset with a weight above 0 (e.g. sensor:2 web:8)');
  const sets = inputs.map((i) => loadDataset(i.dataset));
  const tk = sets[0].manifest.tokenizer;
  for (const s of sets) {
    const t = s.manifest.tokenizer;
    if (t.vocabSize !== tk.vocabSize || t.eotToken !== tk.eotToken || t.name !== tk.name) {
      throw new UserError(`${s.ref}: prepared with tokenizer '${t.name}' (${t.vocabSize} tokens), but ${sets[0].ref} with '${tk.name}' (${tk.vocabSize}); prepare all datasets with the same tokenizer`);
    }
  }
  const total = inputs.reduce((a, i) => a + i.weight, 0);
  const shares = inputs.map((i) => i.weight / total);
  // repeating a small source hundreds of times teaches the model to recite it: refuse past maxRepeats
  const maxRepeats = opts.maxRepeats ?? DEFAULT_MAX_REPEATS;
  if (opts.tokens !== undefined) {
    sets.forEach((s, i) => {
      const have = s.manifest.splits.train.tokens;
      const times = (shares[i] * (opts.tokens as number)) / have;
      if (times > maxRepeats) {
        throw new UserError(
          `${s.ref}: reaching its ${(100 * shares[i]).toFixed(0)}% share of --tokens ${opts.tokens} would repeat its ${have.toLocaleString('en-US')} training tokens ${Math.ceil(times)}×, ` +
            `more than --max-repeats ${maxRepeats}; prepare more data for it, lower --tokens or its weight, or raise --max-repeats`,
        );
      }
    });
  }
  const stats = sets.map(() => ({ tokens: { train: 0, val: 0 }, repeats: { train: 0, val: 0 } }));

  return writeDataset(opts.out, opts.name, opts.shardTokens ?? sets[0].manifest.shardTokens, async (writers) => {
    for (const split of ['train', 'val'] as Split[]) {
      const present = sets.map((s) => s.manifest.splits[split].tokens > 0);
      if (split === 'val' && !present.some(Boolean)) continue;
      if (split === 'train' && !present.every(Boolean)) {
        throw new UserError(`${sets[present.indexOf(false)].ref}: has no training tokens to mix`);
      }
      let target = Infinity;
      if (opts.tokens !== undefined) {
        const trainAll = sets.reduce((a, s) => a + s.manifest.splits.train.tokens, 0);
        const valAll = sets.reduce((a, s) => a + s.manifest.splits.val.tokens, 0);
        target = split === 'train' ? opts.tokens : Math.round((opts.tokens * valAll) / trainAll);
      }
      const files = sets.map((s) => s.manifest.splits[split].shards.map((x) => path.join(s.dir, x.file)));
      const streams = files.map((f) => readDocuments(f, tk.eotToken));
      let produced = 0;
      // Without a target the mix ends at the first exhausted source: at most the smallest source's share of the total.
      const estimate = target < Infinity ? target : Math.min(...sets.map((s, i) => (present[i] ? s.manifest.splits[split].tokens / shares[i] : Infinity)));
      const progress = opts.progress === false ? null : new Progress(`mix ${split}`, estimate, { unit: 'Mtok', scale: 1e6 });
      while (produced < target) {
        // The source furthest below its share (among those with data in this split) goes next.
        let pick = -1;
        let best = Infinity;
        for (let i = 0; i < sets.length; i++) {
          if (!present[i]) continue;
          const deficit = stats[i].tokens[split] / shares[i];
          if (deficit < best) {
            best = deficit;
            pick = i;
          }
        }
        let next = streams[pick].next();
        if (next.done) {
          if (target === Infinity) break; // no repeats: stop at the first exhausted source
          stats[pick].repeats[split]++;
          streams[pick] = readDocuments(files[pick], tk.eotToken);
          next = streams[pick].next();
        }
        const doc = next.value as number[];
        writers[split].writeDocument(doc);
        stats[pick].tokens[split] += doc.length;
        produced += doc.length;
        progress?.update(produced);
      }
      progress?.finish();
      for (const s of streams) s.return(undefined);
    }
    return {
      tokenizer: tk,
      seed: sets[0].manifest.seed,
      valFraction: sets[0].manifest.valFraction,
      sources: [],
      mix: sets.map((s, i) => ({ dataset: s.ref, weight: inputs[i].weight, share: shares[i], tokens: stats[i].tokens, repeats: stats[i].repeats})),
    };
  }, opts.force);
}
