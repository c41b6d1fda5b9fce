// Files as spreadsheets and data sets write them: semicolon- and tab-separated CSV (decimal commas in sensor
// logs), UTF-16 with a byte-order mark, a JSON array of records (Alpaca's alpaca_data.json), capitalised
// headers. Each reads to what its plain UTF-8, comma-separated or JSON Lines twin reads to.
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { columnOf, detectDelimiter, readCsv, type Delimiter } from '../../src/data/csv.js';
import { readJsonRecords, type JsonRecord } from '../../src/data/json-records.js';
import { readLines } from '../../src/data/lines.js';
import { prepare } from '../../src/data/prepare.js';
import { readTaskFile } from '../../src/task/read.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { tmpDir } from './helpers.js';

/** One CSV field written for delimiter d (RFC 4180 quoting). */
const field = (x: string, d: string) => (x.includes(d) || /["\n\r]/.test(x) ? `"${x.replace(/"/g, '""')}"` : x);
/** UTF-16 bytes with a byte-order mark. */
function utf16(text: string, endian: 'le' | 'be'): Buffer {
  const b = Buffer.from('\ufeff' + text, 'utf16le');
  if (endian === 'be') b.swap16();
  return b;
}
async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('UTF-16 files', () => {
  it('read to the same lines as UTF-8, code units and surrogate pairs split across chunks', async () => {
    const dir = tmpDir();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\r\n]/g, '')), { minLength: 1, maxLength: 30 }), fc.constantFrom<'le' | 'be'>('le', 'be'), fc.integer({ min: 1, max: 9 }), async (lines, endian, chunk) => {
        const f = path.join(dir, 'u.txt');
        fs.writeFileSync(f, utf16(lines.join('\r\n') + (lines.at(-1) === '' ? '\r\n' : ''), endian));
        const got = await collect(readLines(f, undefined, chunk));
        expect(got.map((l) => l.bad)).toEqual(lines.map(() => undefined));
        expect(got.map((l) => [l.number, l.text])).toEqual(lines.map((t, i) => [i + 1, t]));
      }),
      { numRuns: 60 },
    );
  });

  it('an unpaired surrogate is refused with the line and the fix', async () => {
    const f = path.join(tmpDir(), 'bad16.csv');
    fs.writeFileSync(f, Buffer.concat([utf16('a,b\n1,2\n', 'le'), Buffer.from([0x00, 0xd8, 0x41, 0x00])]));
    const got = await collect(readLines(f));
    expect(got.slice(0, 2).map((l) => l.text)).toEqual(['a,b', '1,2']);
    expect(got[2].bad).toMatch(/^line 3: invalid UTF-16 \(half a surrogate pair or of a code unit; the file starts with a UTF-16 byte-order mark\); save the file as UTF-8$/);
    expect(got).toHaveLength(3);
    fs.writeFileSync(f, Buffer.concat([utf16('a\nb', 'le'), Buffer.from([0x41])])); // half a code unit at the end
    expect((await collect(readLines(f, undefined, 3))).map((l) => l.bad ?? l.text)).toEqual(['a', expect.stringMatching(/^line 2: invalid UTF-16/)]);
  });
});

describe('CSV delimiters', () => {
  it('are told from the header: the most frequent of comma, tab and semicolon outside quotes, a comma when none', () => {
    expect(detectDelimiter('a,b,c')).toBe(',');
    expect(detectDelimiter('a;b;c')).toBe(';');
    expect(detectDelimiter('a\tb\tc')).toBe('\t');
    expect(detectDelimiter('"x;y;z",b')).toBe(','); // inside quotes does not count
    expect(detectDelimiter('a;b,c')).toBe(','); // a tie goes to the comma
    expect(detectDelimiter('temp;hum;label,x')).toBe(';');
    expect(detectDelimiter('single')).toBe(',');
  });

  it('any table written with ; or tab reads back as written, whatever its fields hold', async () => {
    const dir = tmpDir();
    const name = fc.stringMatching(/^[a-z][a-z0-9_ ]{0,8}$/);
    await fc.assert(
      fc.asyncProperty(fc.constantFrom<Delimiter>(',', ';', '\t'), fc.integer({ min: 2, max: 4 }).chain((n) => fc.tuple(fc.uniqueArray(name, { minLength: n, maxLength: n }), fc.array(fc.array(fc.string(), { minLength: n, maxLength: n }), { maxLength: 12 }))), async (d, [header, rows]) => {
        const table = [header, ...rows.filter((r) => r.join('').trim() !== '' || r.some((x) => /["\n\r]/.test(x) || x.includes(d)))];
        const f = path.join(dir, 't.csv');
        fs.writeFileSync(f, table.map((r) => r.map((x) => (x === '' ? '""' : field(x, d))).join(d)).join('\n') + '\n');
        const got = await collect(readCsv(f));
        expect(got.map((r) => r.bad)).toEqual(table.map(() => undefined));
        expect(got.map((r) => r.delimiter)).toEqual(table.map(() => d));
        expect(got.map((r) => r.fields)).toEqual(table.map((r) => r.map((x) => x.replace(/\r(?=\n)/g, ''))));
      }),
      { numRuns: 80 },
    );
  });

  it("Excel's first line sep=; names the delimiter and is not the header", async () => {
    const f = path.join(tmpDir(), 'x.csv');
    fs.writeFileSync(f, 'sep=;\r\ntemp, °C;hum, %\r\n21,5;40\r\n');
    expect((await collect(readCsv(f))).map((r) => r.fields)).toEqual([['temp, °C', 'hum, %'], ['21,5', '40']]);
  });

  it('a .tsv file is tab-separated even when its header holds commas', async () => {
    const f = path.join(tmpDir(), 'x.tsv');
    fs.writeFileSync(f, 'temp, °C\thum, %\n21,5\t40\n');
    expect((await collect(readCsv(f))).map((r) => r.fields)).toEqual([['temp, °C', 'hum, %'], ['21,5', '40']]);
  });

  it('a sensor log with semicolons and decimal commas, or tabs, prepares to the bytes of its comma twin', async () => {
    const dir = tmpDir();
    const rows = [['pressure', 'temp', 'label'], ...Array.from({ length: 40 }, (_, i) => [(1010 + Math.sin(i)).toFixed(1), (18.93 + Math.cos(i) / 10).toFixed(2), i < 20 ? 'idle' : 'walk'])];
    const twins: [string, string][] = [
      ['comma', rows.map((r) => r.join(',')).join('\n')],
      ['semicolon', rows.map((r) => r.map((x) => x.replace('.', ',')).join(';')).join('\r\n')],
      ['tab', rows.map((r) => r.join('\t')).join('\n')],
    ];
    const shards: Buffer[] = [];
    for (const [name, text] of twins) {
      const sub = path.join(dir, name);
      fs.mkdirSync(sub);
      const file = path.join(sub, name === 'tab' ? 'log.tsv' : 'log.csv');
      fs.writeFileSync(file, text + '\n');
      const out = path.join(sub, 'out');
      await prepare({ inputs: [{ path: file, format: 'sensor', sensor: { window: 4 } }], out, name: 'log', tokenizer: gpt2(), tokenizerName: 'gpt2', progress: false, valFraction: 0 });
      shards.push(fs.readFileSync(path.join(out, 'log_train_000000.bin')));
    }
    expect(shards[0].length).toBeGreaterThan(256 * 4);
    expect(shards[1].equals(shards[0])).toBe(true);
    expect(shards[2].equals(shards[0])).toBe(true);
  });
});

describe('JSON records', () => {
  /** An array written one item per line run, each item pretty-printed with `indent`; the line each item starts on. */
  function arrayText(items: unknown[], indent: number | string | undefined): { text: string; lines: number[] } {
    let text = '[\n';
    const lines: number[] = [];
    items.forEach((x, i) => {
      lines.push(text.split('\n').length);
      text += JSON.stringify(x, null, indent) + (i < items.length - 1 ? ',\n' : '\n');
    });
    return { text: text + ']\n', lines };
  }
  const values = (recs: JsonRecord[]) => recs.map((r) => ('value' in r ? r.value : r));

  it('a JSON array, pretty-printed or on one line, reads to its items with their rows and lines', async () => {
    const dir = tmpDir();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 12 }), fc.constantFrom<number | string | undefined>(undefined, 2, '\t'), async (items, indent) => {
        const f = path.join(dir, 'a.json');
        const { text, lines } = arrayText(items, indent);
        fs.writeFileSync(f, text);
        const got = await collect(readJsonRecords(f));
        expect(values(got)).toEqual(JSON.parse(text));
        expect(got.map((r) => ('row' in r ? [r.row, r.line] : r))).toEqual(lines.map((l, i) => [i + 1, l]));
        fs.writeFileSync(f, ` \n${JSON.stringify(items)}`); // one line, no final newline
        expect(values(await collect(readJsonRecords(f)))).toEqual(JSON.parse(JSON.stringify(items)));
      }),
      { numRuns: 80 },
    );
  });

  it('JSON Lines read one record per non-blank line', async () => {
    const f = path.join(tmpDir(), 'l.jsonl');
    fs.writeFileSync(f, '{"a":"[1,"}\n\n{"a":2}\r\n');
    expect((await collect(readJsonRecords(f))).map((r) => ('value' in r ? [r.row, r.line, r.value] : r))).toEqual([[1, 1, { a: '[1,' }], [2, 3, { a: 2 }]]);
  });

  it('a broken array is refused with the line: not closed, a stray comma, text after it, a bad item', async () => {
    const dir = tmpDir();
    const read = async (text: string) => {
      const f = path.join(dir, 'b.json');
      fs.writeFileSync(f, text);
      return (await collect(readJsonRecords(f))).at(-1);
    };
    expect(await read('[\n{"a":1},\n{"a":2}\n')).toEqual({ line: 1, bad: expect.stringMatching(/^line 1: the JSON array that starts here is never closed/) });
    expect(await read('[{"a":1},\n,{"a":2}]')).toEqual({ line: 2, bad: expect.stringMatching(/^line 2: a ',' with no record before it/) });
    expect(await read('[{"a":1}]\n[{"a":2}]')).toEqual({ line: 2, bad: expect.stringMatching(/^line 2: text after the closing '\]'/) });
    expect(await read('[{"a":1},\n\n  {"a":}\n]')).toEqual({ row: 2, line: 3, problem: expect.stringMatching(/^not valid JSON/) });
    expect(await read('[{"a":1}}]')).toEqual({ row: 1, line: 1, problem: expect.stringMatching(/^not valid JSON/) });
  });
});

describe('task files in other shapes', () => {
  const rows = [
    { instruction: 'Classify the gesture.', input: 'proximity: [253, 9, 0, 254]\nred: [23; 4]', output: 'Tap' },
    { instruction: '', input: 'proximity: [1,\t2]', output: 'Double tap' },
  ];
  const plain = rows.map((r) => [r.instruction || 'Default.', r.input, r.output]);
  const csv = (d: string, header = ['instruction', 'input', 'output']) => [header, ...rows.map((r) => [r.instruction, r.input, r.output])].map((r) => r.map((x) => (x === '' ? '""' : field(x, d))).join(d)).join('\r\n') + '\r\n';

  it('semicolons, tabs, UTF-16, capitalised headers and a JSON array read to the examples of the plain CSV', async () => {
    const dir = tmpDir();
    const files: [string, string | Buffer][] = [
      ['plain.csv', csv(',')],
      ['semicolon.csv', csv(';')],
      ['tabs.tsv', csv('\t')],
      ['tabs.txt', csv('\t')],
      ['utf16le.csv', utf16(csv('\t'), 'le')],
      ['utf16be.csv', utf16(csv(','), 'be')],
      ['capitals.csv', csv(',', ['Instruction', ' Input ', 'OUTPUT'])],
      ['array.json', JSON.stringify(rows, null, 2)],
      ['capitals.json', JSON.stringify(rows.map((r) => ({ Instruction: r.instruction, Input: r.input, Output: r.output })))],
    ];
    for (const [name, content] of files) {
      const f = path.join(dir, name);
      fs.writeFileSync(f, content);
      const ex = await readTaskFile(f, { instruction: 'Default.' });
      expect([name, ex.map((e) => [e.instruction, e.input, e.output])]).toEqual([name, plain]);
    }
  });

  it("an answer's surrounding spaces are not part of it: ' Tap' and 'Tap ' are one label", async () => {
    const dir = tmpDir();
    const f = path.join(dir, 'spaced.csv');
    fs.writeFileSync(f, 'input,output\n1 2, Tap\n3 4,Tap \n5 6,"\n Double tap\n"\n');
    const j = path.join(dir, 'spaced.jsonl');
    fs.writeFileSync(j, '{"input":"1","output":" Tap"}\n');
    expect((await readTaskFile(f)).map((e) => e.output)).toEqual(['Tap', 'Tap', 'Double tap']);
    expect((await readTaskFile(j)).map((e) => e.output)).toEqual(['Tap']);
  });

  it('a header that matches a name only ignoring case, twice over, is not guessed', async () => {
    expect(columnOf(['Output', 'output'], 'output')).toBe(1);
    expect(columnOf(['Output', 'OUTPUT'], 'output')).toBe(-1);
    const f = path.join(tmpDir(), 'twice.csv');
    fs.writeFileSync(f, 'input,Output,OUTPUT\n1,Tap,Hold\n');
    await expect(readTaskFile(f)).rejects.toThrow(/twice\.csv: no column 'output' \(the answer\); the header has: input, Output, OUTPUT/);
  });

  it('a JSON array item that is not an object is refused with its row and line', async () => {
    const f = path.join(tmpDir(), 'items.json');
    fs.writeFileSync(f, '[\n  {"input": "1", "output": "Tap"},\n  "Hold"\n]\n');
    await expect(readTaskFile(f)).rejects.toThrow(/items\.json: row 2 \(line 3\): not a JSON object; each record must be \{"instruction": …, "input": …, "output": …\}/);
  });
});
