// `tinyllm inspect <shard.bin | dataset>`: validates and describes token shards — header, token and
// document counts, largest id — with a decoded sample; for a prepared dataset also its manifest.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { resolveTokenizer } from '../../tokenizer/index.js';
import { shardStats } from '../../data/inspect.js';
import { datasetOfShards, datasetTokenizer, loadDataset } from '../../data/mix.js';

export const summary = 'check a token shard or prepared dataset: header, counts and a decoded sample';

const options = {
  tokens: { type: 'number', min: 0, integer: true, short: 'n', help: 'tokens of the decoded sample', default: 120 },
  tokenizer: { type: 'string', help: "'gpt2' or a tokenizer directory/file, for decoding (default: the one the data was prepared with, else gpt2)" },
} satisfies OptionSpecs;

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('inspect', argv, options, { usage: '<shard.bin | <dir>/<name> | dir>', summary });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length !== 1) throw new UserError('expected one shard file or dataset (see tinyllm inspect --help)');
  const target = positionals[0];
  // decode with the tokenizer the data was prepared with (a --tokenizer that differs is refused)
  const ds = target.endsWith('.bin') ? datasetOfShards(target) : loadDataset(target);
  const tok = ds ? datasetTokenizer(ds, o.tokenizer).tokenizer : resolveTokenizer(o.tokenizer ?? 'gpt2');
  let files: string[];
  if (target.endsWith('.bin') || !ds) files = [target];
  else {
    const m = ds.manifest;
    console.log(`dataset ${m.name} (${path.join(ds.dir, m.name)}.manifest.json): tokenizer ${m.tokenizer.name}, seed ${m.seed}, val fraction ${m.valFraction}`);
    for (const s of m.sources) console.log(`  source ${s.path} (${s.format}, ${s.bytes} bytes${s.role === 'val' ? ', validation only' : ''}): ${s.documents.train} train + ${s.documents.val} val documents${s.skipped ? `, ${s.skipped} skipped` : ''}${s.droppedAtSplitBoundary ? `, ${s.droppedAtSplitBoundary} dropped at the split` : ''}`);
    for (const c of m.mix ?? []) console.log(`  mixed ${c.dataset}: weight ${c.weight}, ${c.tokens.train} train + ${c.tokens.val} val tokens${c.repeats.train ? `, repeated ${c.repeats.train}×` : ''}`);
    console.log(`  val share: ${(100 * m.ratios.valDocuments).toFixed(1)}% of documents, ${(100 * m.ratios.valTokens).toFixed(1)}% of tokens`);
    files = [...m.splits.train.shards, ...m.splits.val.shards].map((s) => path.join(ds.dir, s.file));
    const missing = files.find((f) => !fs.existsSync(f));
    if (missing) throw new UserError(`${missing}: listed in the manifest but missing; re-run 'tinyllm prepare'`);
  }
  const outside: string[] = [];
  for (const [i, f] of files.entries()) {
    const s = shardStats(f, tok.eotToken, i === 0 ? o.tokens : 0, tok.vocabSize);
    const bad = s.outside ? ` — ABOVE the tokenizer's ${tok.vocabSize} ids (first: id ${s.outside.id} at token offset ${s.outside.offset})` : '';
    if (s.outside) outside.push(f);
    console.log(`${f}: magic ${s.magic}, version ${s.version}, ${s.numTokens.toLocaleString('en-US')} tokens (${s.bytes} bytes, size OK), ${s.documents} documents, max id ${s.maxToken}${bad}`);
    const head = s.head.filter((t) => t < tok.vocabSize);
    if (i === 0 && head.length) console.log(`sample (first ${s.head.length} tokens${head.length < s.head.length ? `, ${s.head.length - head.length} outside the vocabulary left out` : ''}):\n${JSON.stringify(tok.decode(head)).slice(1, -1).replace(/\\n/g, '\n')}`);
  }
  if (outside.length) throw new UserError(`${outside.join(', ')}: token ids outside the tokenizer's ${tok.vocabSize}; the shards were prepared with another tokenizer or are corrupt — re-run 'tinyllm prepare'`);
}
