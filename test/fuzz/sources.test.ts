// Fuzzed input files of `tinyllm prepare` (src/data/csv.ts, lines.ts, sources.ts): sensor CSV with a label,
// a CSV text column, JSONL (plain and instruction records) and plain text, with quoting, CRLF, a BOM and
// multi-line fields, prepared into shards with and without --skip-bad.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepare, type Manifest } from '../../src/data/prepare.js';
import type { SourceSpec } from '../../src/data/sources.js';
import { readLines } from '../../src/data/lines.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { expectRefused, fuzzReader, runCase, type ReaderTarget } from './harness.js';

const rows = Array.from({ length: 24 }, (_, i) => `${i * 10},${(Math.sin(i) * 9.81).toFixed(3)},${(Math.cos(i) * 2).toFixed(2)},-0.5e1,${i % 3 === 0 ? 'swipe left' : '"tap, ""soft"""'}`);
const FILES = {
  'sensor.csv': `\ufefftime,ax,ay,az,label\r\n${rows.join('\r\n')}\r\n`,
  'notes.csv': 'id,text\n1,"first note,\nover two lines"\n2,second note\n3,"a ""quoted"" word"\n',
  'chat.jsonl': '{"text":"hello there"}\n{"text":"general kenobi","other":1}\n\n{"text":"ünïcödé 🤖"}\n',
  'alpaca.jsonl': '{"instruction":"classify","input":"0.1 0.2","output":"tap"}\n{"instruction":"classify","output":"swipe"}\n',
  'web.txt': 'one document\n--\nanother document\nwith two lines\n--\n',
};

const specs = (dir: string): SourceSpec[] => [
  { path: path.join(dir, 'sensor.csv'), format: 'sensor', sensor: { label: 'label', exclude: ['time'], window: 4 } },
  { path: path.join(dir, 'notes.csv'), format: 'csv', textColumn: 'text' },
  { path: path.join(dir, 'chat.jsonl'), format: 'jsonl' },
  { path: path.join(dir, 'alpaca.jsonl'), format: 'jsonl', instruction: true },
  { path: path.join(dir, 'web.txt'), format: 'text', separator: '--' },
];

const prepared = (skipBad: boolean): ReaderTarget<Manifest> => ({
  files: FILES,
  read: (dir) =>
    prepare({ inputs: specs(dir), out: path.join(dir, 'out'), name: 'ds', tokenizer: gpt2(), tokenizerName: 'gpt2', valFraction: 0, progress: false, skipBad }),
  check(m) {
    expect(m.splits.train.documents).toBeGreaterThan(0);
    expect(m.splits.train.tokens).toBeGreaterThan(m.splits.train.documents);
    for (const s of m.sources) expect(s.skippedExamples.every((e) => e.length < 1000)).toBe(true);
  },
});

describe('fuzzed prepare inputs (CSV, JSONL, text)', () => {
  it('every mutation prepares or gives a UserError naming the file', () => fuzzReader(prepared(false), { numRuns: 50 }));
  it('every mutation prepares or gives a UserError naming the file, under --skip-bad', () => fuzzReader(prepared(true), { numRuns: 25 }));

  it('lists a header with a multi-line field on one line (a skipped bad header made a data row the header)', () =>
    expectRefused(
      prepared(true),
      [{ kind: 'edit', file: 'notes.csv', apply: (b) => Buffer.concat([Buffer.from([0xff]), b]) }],
      /notes\.csv: no column 'text' \(--text-column\); the header has: 1, first note, over two lines$/,
    ));

  it('reads a 16 MB line without a newline in linear time (joining the carried bytes at every chunk took minutes)', async () => {
    const long: ReaderTarget<number> = {
      files: { 'long.txt': `first\n${'a'.repeat(16 << 20)}` },
      async read(dir) {
        let chars = 0;
        for await (const line of readLines(path.join(dir, 'long.txt'), undefined, 4096)) chars += line.text.length;
        return chars;
      },
    };
    const out = await runCase(long, { mutations: [], fix: false }); // fails if the read takes over 5 s of CPU
    expect(out.ok && out.result).toBe(5 + (16 << 20));
  });
});
