import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readDocuments } from '../../src/data/docstream.js';
import { findShards } from '../../src/data/loader.js';
import { readShardHeader } from '../../src/data/shard.js';
import { contextWarning, documentTokens, prepare, type PrepareOptions } from '../../src/data/prepare.js';
import type { SourceSpec } from '../../src/data/sources.js';
import { splitOf } from '../../src/data/split.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { UserError } from '../../src/util/errors.js';
import { tmpDir } from './helpers.js';

const tok = gpt2();
const run = (inputs: SourceSpec[], out: string, extra: Partial<PrepareOptions> = {}) =>
  prepare({ inputs, out, name: 'ds', tokenizer: tok, tokenizerName: 'gpt2', progress: false, ...extra });

/** Decoded documents of one split (without the leading <|endoftext|>). */
function docsOf(dir: string, split: 'train' | 'val'): string[] {
  let files: string[];
  try {
    files = findShards(dir, split);
  } catch {
    return [];
  }
  return [...readDocuments(files, tok.eotToken)].map((d) => {
    expect(d[0]).toBe(tok.eotToken);
    return tok.decode(d.slice(1));
  });
}

function writeFile(dir: string, name: string, content: string | Uint8Array): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

describe('prepare', () => {
  it('round-trips documents: train ∪ val = inputs, train ∩ val = ∅, small shards roll over', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '' && !s.includes('\n') && !s.includes('\r') && s !== '--'), { minLength: 2, maxLength: 40 }), fc.integer({ min: 5, max: 200 }), async (docs, shardTokens) => {
        fc.pre(docs.some((d) => splitOf(d, 0.3, 1337) === 'train')); // else prepare rightly refuses: no training data
        const dir = tmpDir();
        const input = writeFile(dir, 'in.txt', docs.join('\n--\n'));
        const out = path.join(dir, 'out');
        const m = await run([{ path: input, format: 'text', separator: '--' }], out, { valFraction: 0.3, shardTokens });
        const train = docsOf(out, 'train');
        const val = docsOf(out, 'val');
        expect([...train, ...val].sort()).toEqual([...docs].sort());
        expect(train.filter((d) => val.includes(d))).toEqual([]);
        expect(m.splits.train.documents + m.splits.val.documents).toBe(docs.length);
        for (const s of [...m.splits.train.shards, ...m.splits.val.shards]) expect(s.tokens).toBeLessThanOrEqual(shardTokens);
        // balanced tail: in a split of several shards none is under half of --shard-tokens (llm.c needs B·T+1 each)
        for (const split of [m.splits.train, m.splits.val]) {
          if (split.shards.length > 1) for (const s of split.shards) expect(s.tokens).toBeGreaterThanOrEqual(Math.floor(shardTokens / 2));
          for (const s of split.shards) expect(readShardHeader(path.join(out, s.file)).numTokens).toBe(s.tokens);
        }
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: 15 },
    );
  });

  it('is deterministic: same inputs and seed → identical bytes; another seed → another split', async () => {
    const dir = tmpDir();
    const input = writeFile(dir, 'in.jsonl', Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: `document number ${i}` })).join('\n'));
    const a = await run([{ path: input, format: 'jsonl' }], path.join(dir, 'a'));
    await run([{ path: input, format: 'jsonl' }], path.join(dir, 'b'));
    for (const f of fs.readdirSync(path.join(dir, 'a'))) expect(fs.readFileSync(path.join(dir, 'a', f)).equals(fs.readFileSync(path.join(dir, 'b', f)))).toBe(true);
    expect(a.ratios.valDocuments).toBeGreaterThan(0.03);
    expect(a.ratios.valDocuments).toBeLessThan(0.2);
    await run([{ path: input, format: 'jsonl' }], path.join(dir, 'c'), { seed: 99 });
    expect(docsOf(path.join(dir, 'c'), 'val')).not.toEqual(docsOf(path.join(dir, 'a'), 'val'));
  });

  it('sends duplicate documents to the same split', async () => {
    const dir = tmpDir();
    const docs = Array.from({ length: 100 }, (_, i) => `doc ${i % 10}`);
    const input = writeFile(dir, 'in.txt', docs.join('\n\n'));
    await run([{ path: input, format: 'text', separator: '' }], path.join(dir, 'o'), { valFraction: 0.5 });
    const train = new Set(docsOf(path.join(dir, 'o'), 'train'));
    const val = new Set(docsOf(path.join(dir, 'o'), 'val'));
    expect([...train].filter((d) => val.has(d))).toEqual([]);
    expect(train.size + val.size).toBe(10);
  });

  it('renders sensor CSV windows per group, with labels, and --val-input goes to validation only', async () => {
    const dir = tmpDir();
    const csv = (rows: string[]) => ['id,a,b,label', ...rows].join('\n') + '\n';
    const train = writeFile(dir, 'train.csv', csv(['s1,1,2.5,up', 's1,3,4,up', 's2,5,6,down']));
    const val = writeFile(dir, 'val.csv', csv(['v1,7,8,up']));
    const sensor = { group: 'id', label: 'label' };
    await run([{ path: train, format: 'sensor', sensor }], path.join(dir, 'o'), { valInputs: [{ path: val, format: 'sensor', sensor }] });
    expect(docsOf(path.join(dir, 'o'), 'train')).toEqual(['[1 2.5] up\n[3 4] up', '[5 6] down']);
    expect(docsOf(path.join(dir, 'o'), 'val')).toEqual(['[7 8] up']);
  });

  it('never lets overlapping windows straddle the split', async () => {
    const dir = tmpDir();
    const rows = Array.from({ length: 2000 }, (_, i) => `${i}`);
    const input = writeFile(dir, 'log.csv', ['x', ...rows].join('\n'));
    const m = await run([{ path: input, format: 'sensor', sensor: { window: 8, stride: 2, splitBlock: 5 } }], path.join(dir, 'o'), { valFraction: 0.3 });
    const rowsOf = (split: 'train' | 'val') => new Set(docsOf(path.join(dir, 'o'), split).flatMap((d) => d.split('\n')));
    const train = rowsOf('train');
    const val = rowsOf('val');
    expect(val.size).toBeGreaterThan(0);
    expect([...train].filter((r) => val.has(r))).toEqual([]);
    expect(m.sources[0].droppedAtSplitBoundary).toBeGreaterThan(0);
  });

  const bad = async (name: string, content: string | Uint8Array, spec: Partial<SourceSpec>, re: RegExp) => {
    const dir = tmpDir();
    const p = writeFile(dir, name, content);
    const out = path.join(dir, 'o');
    const err = await run([{ path: p, format: 'sensor', ...spec }], out).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(re);
    expect((err as Error).message).toContain(p);
    expect(fs.readdirSync(out)).toEqual([]); // nothing half-written, not even the staging directory
  };

  it('names file, line and column for ragged rows, non-numbers, bad quotes and bad UTF-8', async () => {
    await bad('ragged.csv', 'a,b\n1,2\n3,4\n5\n', {}, /line 4: 1 fields, but the header has 2/);
    await bad('nan.csv', 'a,b\n1,2\n3,x4\n', {}, /line 3, column 2 \('b'\): 'x4' is not a number/);
    await bad('quote.csv', 'a,b\n1,2\n"3,4\n', {}, /line 3: a quoted field is never closed/);
    await bad('utf8.csv', Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff]), Buffer.from('\n')]), {}, /line 3, column 3: invalid UTF-8 \(byte 0xff\)/);
    await bad('empty.csv', '', {}, /empty file/);
    await bad('nocol.csv', 'a,b\n1,2\n', { sensor: { label: 'lbl' } }, /no column 'lbl'.*header has: a, b/);
    await bad('j.jsonl', '{"text":"ok"}\n{"txt":"no"}\n', { format: 'jsonl' }, /line 2: field 'text' is missing/);
  });

  it('renders Alpaca-style JSONL records as instruction text', async () => {
    const dir = tmpDir();
    const p = writeFile(dir, 'a.jsonl', [{ instruction: 'Add.', input: '2 3', output: '5' }, { instruction: 'Say hi.', output: 'hi' }].map((r) => JSON.stringify(r)).join('\n'));
    await run([{ path: p, format: 'jsonl', instruction: true }], path.join(dir, 'o'), { valFraction: 0 });
    expect(docsOf(path.join(dir, 'o'), 'train')).toEqual([
      '### Instruction:\nAdd.\n\n### Input:\n2 3\n\n### Response:\n5\n\n### End',
      '### Instruction:\nSay hi.\n\n### Response:\nhi\n\n### End',
    ]);
  });

  it("a user's sensor CSV: a single text column is the label, timestamp-like columns are left out, and both are said", async () => {
    const dir = tmpDir();
    const rows = Array.from({ length: 40 }, (_, i) => `${1_700_000_000_000 + 20 * i},${1000 + i},0.${i % 10},${(i * 7) % 5},${i < 20 ? 'walk' : 'run'}`);
    const p = writeFile(dir, 'mine.csv', ['timestamp,seq,ax,ay,activity', ...rows].join('\r\n'));
    const m = await run([{ path: p, format: 'sensor', sensor: { window: 4 } }], path.join(dir, 'o'), { valFraction: 0 });
    expect(m.sources[0].notes).toEqual([
      "left out timestamp-like column(s) 'timestamp', 'seq' (give --columns to choose the value columns yourself)",
      "using column 'activity' as the label (its values are not numbers; give --label to choose another)",
    ]);
    const docs = docsOf(path.join(dir, 'o'), 'train');
    expect(docs[0]).toBe('[0.0 0] walk\n[0.1 2] walk\n[0.2 4] walk\n[0.3 1] walk');
    expect(docs.join('\n')).not.toMatch(/1700000000|100\d/);
    // ISO times are timestamps too, not a label; two text columns are refused with the flags that choose
    const iso = writeFile(dir, 'iso.csv', ['time,ax,gesture', ...Array.from({ length: 10 }, (_, i) => `2024-05-01T10:00:0${i},${i % 3},tap`)].join('\n'));
    const m2 = await run([{ path: iso, format: 'sensor', sensor: { window: 2 } }], path.join(dir, 'o2'), { valFraction: 0 });
    expect(m2.sources[0].notes?.join(' ')).toMatch(/left out .*'time'.*using column 'gesture' as the label/);
    const two = writeFile(dir, 'two.csv', 'ax,site,gesture\n1,lab,tap\n2,lab,swipe\n');
    await expect(run([{ path: two, format: 'sensor', sensor: { window: 1 } }], path.join(dir, 'o3'))).rejects.toThrow(/columns 'site', 'gesture' hold text, not numbers; name the label with --label/);
  });

  it('records document length percentiles and warns when documents exceed the training context', async () => {
    const dir = tmpDir();
    // documents of 1..100 words ('word' is one GPT-2 token, ' word' another) + <|endoftext|>
    const p = writeFile(dir, 'docs.txt', Array.from({ length: 100 }, (_, i) => Array(i + 1).fill('word').join(' ')).join('\n---\n'));
    const m = await run([{ path: p, format: 'text', separator: '---' }], path.join(dir, 'o'), { valFraction: 0 });
    expect(m.documentTokens).toEqual({ p50: 51, p90: 91, p99: 100, max: 101 });
    expect(contextWarning(m, 64)).toMatch(/^warning: documents of ds are longer than --seq 64: median 51 tokens, 90% up to 91, longest 101; .*train with --seq 91 or more/);
    expect(contextWarning(m, 128)).toBeNull();
    expect(documentTokens([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('quotes at most ~80 characters of an offending value (a 1 MB field stays a short message)', async () => {
    const dir = tmpDir();
    const p = writeFile(dir, 'huge.csv', `a,b\n1,2\n3,${'9'.repeat(10)}x${'y'.repeat(1_000_000)}\n`);
    const err = await run([{ path: p, format: 'sensor', sensor: { window: 1 } }], path.join(dir, 'o')).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/line 3, column 2 \('b'\): '9{10}xy{69}…' \(1,000,011 characters\) is not a number/);
    expect((err as Error).message.length).toBeLessThan(400);
    const m = await run([{ path: p, format: 'sensor', sensor: { window: 1 } }], path.join(dir, 'o'), { skipBad: true, valFraction: 0 });
    expect(JSON.stringify(m).length).toBeLessThan(5000);
  });

  it('--skip-bad skips and counts bad rows', async () => {
    const dir = tmpDir();
    const p = writeFile(dir, 'mixed.csv', 'a,b\n1,2\n3\n4,x\n5,6\n');
    const m = await run([{ path: p, format: 'sensor', sensor: { window: 1 } }], path.join(dir, 'o'), { skipBad: true, valFraction: 0 });
    expect(m.sources[0].skipped).toBe(2);
    expect(m.sources[0].skippedExamples[0]).toMatch(/mixed.csv: line 3/);
    expect(docsOf(path.join(dir, 'o'), 'train')).toEqual(['[1 2]', '[5 6]']);
  });

  it('refuses to replace a dataset of the same name before any work; with force replaces its stale shards too', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'o');
    const big = writeFile(dir, 'big.txt', 'word '.repeat(3000));
    await run([{ path: big, format: 'text' }], out, { shardTokens: 1000, valFraction: 0 });
    expect(findShards(out, 'train').length).toBe(4);
    const before = new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]));
    const small = writeFile(dir, 'small.txt', 'just a few words');
    let read = false;
    await expect(run([{ path: small, format: 'text' }], out, { shardTokens: 1000, valFraction: 0, shouldStop: () => (read = true) && false })).rejects.toThrow(
      /o[/\\]ds: a dataset named 'ds' is already there \(ds.manifest.json, ds_train_000000.bin, ds_train_000001.bin, …\); pass --force to replace it, or give another --name/,
    );
    expect(read).toBe(false); // refused before reading a document
    expect(new Map(fs.readdirSync(out).map((f) => [f, fs.readFileSync(path.join(out, f))]))).toEqual(before);
    // shards without a manifest (e.g. copied by hand) count too
    fs.rmSync(path.join(out, 'ds.manifest.json'));
    await expect(run([{ path: small, format: 'text' }], out, { shardTokens: 1000, valFraction: 0 })).rejects.toThrow(/already there \(ds_train_000000.bin/);
    const m = await run([{ path: small, format: 'text' }], out, { shardTokens: 1000, valFraction: 0, force: true });
    expect(findShards(out, 'train').length).toBe(1);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'ds.manifest.json'), 'utf8'))).toEqual(m);
    expect(m.tokenizer).toEqual({ name: 'gpt2', vocabSize: 50257, eotToken: 50256 });
  });
});

describe('prepare staging', () => {
  it('an interrupted run writes nothing', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'o');
    const input = writeFile(dir, 'a.txt', Array.from({ length: 50 }, (_, i) => `doc ${i}`).join('\n\n'));
    let docs = 0;
    const err = await run([{ path: input, format: 'text', separator: '' }], out, { shouldStop: () => ++docs > 20 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/interrupted: nothing was written/);
    expect(fs.readdirSync(out)).toEqual([]);
  });

  it('removes staging directories left by dead processes, keeps live ones', async () => {
    const dir = tmpDir();
    const out = path.join(dir, 'o');
    fs.mkdirSync(path.join(out, '.ds.staging-999999999-abc'), { recursive: true });
    fs.mkdirSync(path.join(out, `.ds.staging-${process.pid}-live`));
    const input = writeFile(dir, 'a.txt', 'hello');
    await run([{ path: input, format: 'text' }], out, { valFraction: 0 });
    expect(fs.readdirSync(out).filter((f) => f.startsWith('.')).sort()).toEqual([`.ds.staging-${process.pid}-live`]);
  });
});
