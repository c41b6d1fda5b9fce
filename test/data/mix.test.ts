import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { readDocuments } from '../../src/data/docstream.js';
import { findShards, resolveShards } from '../../src/data/loader.js';
import { loadDataset, mix } from '../../src/data/mix.js';
import { prepare } from '../../src/data/prepare.js';
import { parseMixInput } from '../../src/cli/commands/mix.js';
import { main } from '../../src/cli/main.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { tmpDir } from './helpers.js';

const tok = gpt2();

/** Prepares `n` documents whose text starts with `tag` as dataset dir/<tag>. */
async function dataset(dir: string, tag: string, n: number, valFraction = 0.1): Promise<string> {
  const input = path.join(dir, `${tag}.jsonl`);
  fs.writeFileSync(input, Array.from({ length: n }, (_, i) => JSON.stringify({ text: `${tag} ${i} ${'x'.repeat(i % 7)}` })).join('\n'));
  await prepare({ inputs: [{ path: input, format: 'jsonl' }], out: dir, name: tag, tokenizer: tok, tokenizerName: 'gpt2', progress: false, valFraction });
  return path.join(dir, tag);
}

/** Train tokens per source tag in a mixed dataset. */
function tokensByTag(dir: string, split: 'train' | 'val'): Record<string, number> {
  const out: Record<string, number> = {};
  for (const d of readDocuments(findShards(dir, split), tok.eotToken)) {
    const tag = tok.decode(d.slice(1)).split(' ')[0];
    out[tag] = (out[tag] ?? 0) + d.length;
  }
  return out;
}

describe('mix', () => {
  it('hits the token ratio within tolerance, and keeps val from val', async () => {
    const dir = tmpDir();
    const a = await dataset(dir, 'sensor', 300);
    const b = await dataset(dir, 'web', 300);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), async (wa, wb) => {
        const out = path.join(dir, `mix${wa}${wb}`);
        const m = await mix({ inputs: [{ dataset: a, weight: wa }, { dataset: b, weight: wb }], out, name: 'm', progress: false, force: true }); // a pair may come twice
        const t = tokensByTag(out, 'train');
        const share = t.sensor / (t.sensor + (t.web ?? 0));
        expect(Math.abs(share - wa / (wa + wb))).toBeLessThan(0.02);
        expect(m.mix?.[0].tokens.train).toBe(t.sensor);
        // validation documents come only from the sources' validation splits
        const valFiles = [a, b].flatMap((d) => resolveShards(`${d}_val`));
        const valDocs = new Set([...readDocuments(valFiles, tok.eotToken)].map((d) => d.join(',')));
        for (const d of readDocuments(findShards(out, 'val'), tok.eotToken)) expect(valDocs.has(d.join(','))).toBe(true);
      }),
      { numRuns: 6 },
    );
  });

  it('repeats smaller sources to reach --tokens, and drops weight-0 sources', async () => {
    const dir = tmpDir();
    const a = await dataset(dir, 'sensor', 400);
    const b = await dataset(dir, 'web', 20);
    const out = path.join(dir, 'mix');
    const inputs = [{ dataset: a, weight: 2 }, { dataset: b, weight: 8 }];
    // web holds ~120 training tokens: 80% of 4000 would repeat it ~27 times, more than the default cap of 10
    await expect(mix({ inputs, out, name: 'm', tokens: 4000, progress: false })).rejects.toThrow(/web: reaching its 80% share of --tokens 4000 would repeat its [\d,]+ training tokens \d\d×, more than --max-repeats 10/);
    expect(fs.existsSync(out)).toBe(false);
    const m = await mix({ inputs, out, name: 'm', tokens: 4000, maxRepeats: 100, progress: false });
    expect(m.splits.train.tokens).toBeGreaterThanOrEqual(4000);
    expect(m.mix?.[1].repeats.train).toBeGreaterThan(0);
    const t = tokensByTag(out, 'train');
    expect(Math.abs(t.sensor / (t.sensor + t.web) - 0.2)).toBeLessThan(0.02);
    // the CLI says so loudly
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((x: string) => void lines.push(x));
    try {
      expect(await main(['mix', `${a}:2`, `${b}:8`, '--out', path.join(dir, 'cli'), '--tokens', '4000', '--max-repeats', '100'])).toBe(0);
    } finally {
      log.mockRestore();
    }
    expect(lines.join('\n')).toMatch(/WARNING: .*web was read \d+ times over to fill its share/);
    // a second mix of the same name is refused (the dataset is kept), --force replaces it
    const cliOut = path.join(dir, 'cli');
    const manifest = fs.readFileSync(path.join(cliOut, 'mix.manifest.json'));
    const err = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(await main(['mix', `${a}:1`, '--out', cliOut])).not.toBe(0);
      expect(String(err.mock.calls.at(-1)?.[0])).toMatch(/a dataset named 'mix' is already there .*pass --force to replace it/);
    } finally {
      err.mockRestore();
    }
    expect(fs.readFileSync(path.join(cliOut, 'mix.manifest.json'))).toEqual(manifest);
    const log2 = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      expect(await main(['mix', `${a}:1`, '--out', cliOut, '--force'])).toBe(0);
    } finally {
      log2.mockRestore();
    }
    expect(fs.readFileSync(path.join(cliOut, 'mix.manifest.json'))).not.toEqual(manifest);
    const only = await mix({ inputs: [{ dataset: a, weight: 0 }, { dataset: b, weight: 1 }], out: path.join(dir, 'only'), name: 'm', progress: false });
    expect(only.mix?.map((x) => x.dataset)).toEqual([b]);
  });

  it('explains bad references and weights', async () => {
    const dir = tmpDir();
    expect(() => loadDataset(path.join(dir, 'none'))).toThrow(/cannot read dataset manifest/);
    expect(() => loadDataset(dir)).toThrow(/no dataset manifest/);
    expect(() => parseMixInput('runs/data/sensor')).toThrow(/<dataset>:<weight>/);
    expect(parseMixInput('C:/x/sensor:2.5')).toEqual({ dataset: 'C:/x/sensor', weight: 2.5 });
  });
});
