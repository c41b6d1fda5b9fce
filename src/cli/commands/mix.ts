// `tinyllm mix <dataset>:<weight>… --out <dir> --name <name>`: interleaves prepared datasets by token
// ratio into a new dataset (src/data/mix.ts), e.g. TinyLLM's sensor:web mixes 2:8 and 4:6.
import * as path from 'node:path';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { mix, type MixInput } from '../../data/mix.js';

export const summary = 'mix prepared datasets by token ratio (e.g. sensor:2 web:8) into new shards';

const options = {
  out: { type: 'string', short: 'o', help: 'output directory', default: 'runs/data' },
  name: { type: 'string', help: 'name of the mixed dataset', default: 'mix' },
  tokens: { type: 'number', min: 1, integer: true, help: 'training tokens to produce, repeating smaller sources (default: stop when the first source runs out)' },
  'max-repeats': { type: 'number', min: 1, help: 'refuse to repeat a source more often than this to reach its share of --tokens', default: 10 },
  'shard-tokens': { type: 'number', min: 1, max: 2147483647, integer: true, help: 'tokens per shard (default: that of the first dataset)' },
  force: { type: 'boolean', help: 'replace a dataset of the same --name in --out (without it, that is refused)' },
} satisfies OptionSpecs;

export function parseMixInput(arg: string): MixInput {
  const colon = arg.lastIndexOf(':');
  const weight = colon > 0 ? Number(arg.slice(colon + 1)) : NaN;
  if (colon <= 0 || arg.slice(colon + 1).trim() === '' || !Number.isFinite(weight) || weight < 0) {
    throw new UserError(`'${arg}': expected <dataset>:<weight> with a weight >= 0, e.g. runs/data/sensor:2`);
  }
  return { dataset: arg.slice(0, colon), weight };
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('mix', argv, options, {
    usage: '<dataset>:<weight>… [--out <dir>] [--name <name>] [--tokens <n>]',
    summary,
    epilog:
      'A dataset is <dir>/<name> as written by tinyllm prepare (or its .manifest.json). Weights are token ratios.\n' +
      'Example: tinyllm mix runs/data/sensor:2 runs/data/web:8 --name mix28 --tokens 2000000',
  });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length === 0) throw new UserError('expected at least one <dataset>:<weight> (see tinyllm mix --help)');
  const m = await mix({ inputs: positionals.map(parseMixInput), out: o.out, name: o.name, tokens: o.tokens, maxRepeats: o['max-repeats'], shardTokens: o['shard-tokens'], force: o.force });
  for (const c of m.mix ?? []) {
    const share = m.splits.train.tokens ? c.tokens.train / m.splits.train.tokens : 0;
    console.log(`${c.dataset}: weight ${c.weight} → ${(100 * share).toFixed(1)}% of train tokens (target ${(100 * c.share).toFixed(1)}%)${c.repeats.train ? `, repeated ${c.repeats.train}×` : ''}`);
  }
  for (const c of m.mix ?? []) {
    if (c.repeats.train > 0) console.log(`WARNING: ${c.dataset} was read ${c.repeats.train + 1} times over to fill its share: every document of it is seen that often per epoch; prepare more data for it or lower --tokens`);
  }
  for (const split of ['train', 'val'] as const) console.log(`${split.padEnd(5)} ${m.splits[split].documents} documents, ${m.splits[split].tokens.toLocaleString('en-US')} tokens`);
  console.log(`manifest: ${path.join(o.out, o.name)}.manifest.json`);
}
