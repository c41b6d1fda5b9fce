// Fuzzed dataset manifests (<name>.manifest.json, src/data/prepare.ts) and the shards they list, read by
// loadDataset and its consumers: `tinyllm inspect` and mix.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { run as inspect } from '../../src/cli/commands/inspect.js';
import { loadDataset, mix } from '../../src/data/mix.js';
import { prepare, type Manifest } from '../../src/data/prepare.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { expectRefused, fuzzReader, WHOLE_FILE_JSON, type ReaderTarget } from './harness.js';

const MANIFEST = 'ds.manifest.json';

/** A prepared dataset's files (manifest and shards), by name. */
async function preparedFiles(): Promise<Record<string, Uint8Array>> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-fuzz-seed-'));
  try {
    const input = path.join(dir, 'in.txt');
    fs.writeFileSync(input, Array.from({ length: 30 }, (_, i) => `document ${i}: the sensor reads ${i * 1.5}`).join('\n--\n'));
    await prepare({ inputs: [{ path: input, format: 'text', separator: '--' }], out: path.join(dir, 'out'), name: 'ds', tokenizer: gpt2(), tokenizerName: 'gpt2', valFraction: 0.3, shardTokens: 200, progress: false });
    return Object.fromEntries(fs.readdirSync(path.join(dir, 'out')).map((f) => [f, new Uint8Array(fs.readFileSync(path.join(dir, 'out', f)))]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const files = await preparedFiles();

export const manifestTarget: ReaderTarget<Manifest> = {
  files,
  mutable: [MANIFEST],
  json: { [MANIFEST]: WHOLE_FILE_JSON },
  async read(dir) {
    const ds = loadDataset(path.join(dir, 'ds'));
    const log = console.log;
    console.log = () => {};
    try {
      await inspect(['--tokens', '8', path.join(dir, 'ds')]);
    } finally {
      console.log = log;
    }
    return mix({ inputs: [{ dataset: path.join(dir, 'ds'), weight: 1 }], out: path.join(dir, 'mixed'), name: 'm', progress: false }).then((m) => {
      expect(m.splits.train.tokens).toBeLessThanOrEqual(ds.manifest.splits.train.tokens);
      return m;
    });
  },
  check(m) {
    expect(m.splits.train.documents).toBeGreaterThan(0);
  },
};

describe('fuzzed dataset manifests', () => {
  it('every mutation reads back or gives a UserError naming the manifest', () => fuzzReader(manifestTarget, { numRuns: 100 }));

  // Defects the fuzzing found (each a TypeError before), replayed on the seed dataset.
  const edit = (apply: (m: Manifest) => unknown) => [{ kind: 'editJson' as const, file: MANIFEST, apply }];
  it('refuses a manifest that is not an object, or whose sources, name or shard entries are malformed', async () => {
    await expectRefused(manifestTarget, edit(() => null), /ds\.manifest\.json: not a tinyllm dataset manifest \(format null/);
    await expectRefused(manifestTarget, edit((m) => ({ ...m, sources: 0 })), /ds\.manifest\.json: bad "sources"/);
    await expectRefused(manifestTarget, edit((m) => ({ ...m, name: 0 })), /ds\.manifest\.json: bad "name" 0/);
    await expectRefused(manifestTarget, edit((m) => ({ ...m, splits: { ...m.splits, train: { ...m.splits.train, shards: [{ file: 7, tokens: 1 }] } } })), /bad "splits\.train"/);
  });

  it('refuses shard names that leave the dataset directory', () =>
    expectRefused(manifestTarget, edit((m) => ({ ...m, splits: { ...m.splits, val: { ...m.splits.val, shards: [{ file: '../../elsewhere/x_val_000000.bin', tokens: 5 }] } } })), /bad "splits\.val"/));

  it("refuses shardTokens of 2^31 naming the manifest (mix blamed a --shard-tokens flag that was not given)", () =>
    expectRefused(manifestTarget, edit((m) => ({ ...m, shardTokens: 2 ** 31 })), /ds\.manifest\.json: bad "shardTokens" 2147483648/));

  it('refuses a split whose shard list does not add up to its token count (a mix of it came out empty)', () =>
    expectRefused(manifestTarget, edit((m) => ({ ...m, splits: { ...m.splits, train: { ...m.splits.train, shards: [] } } })), /ds\.manifest\.json: "splits\.train" has \d+ tokens but its shards list 0/));
});
