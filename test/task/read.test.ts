// Task files as users have them: BOM, CRLF, quoted multi-line CSV fields, long rows, JSON numbers;
// errors name the file, row and column; a seeded split of one file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonInstruction, labelSet, readTaskFile, splitExamples } from '../../src/task/read.js';
import { tmpDir } from '../data/helpers.js';

function write(name: string, text: string): string {
  const f = path.join(tmpDir('tinyllm-task-'), name);
  fs.writeFileSync(f, text);
  return f;
}

describe('task file reader', () => {
  it('reads a messy CSV: BOM, CRLF, quoted fields with commas, quotes and newlines, a long row', async () => {
    const long = Array.from({ length: 20000 }, (_, i) => i % 97).join(' ');
    const f = write('t.csv', '\ufeffinstruction,input,output\r\nClassify.,"1,2\r\n3 ""x""",Tap\r\n,' + long + ',Double tap\r\n\r\nSay.,,"multi\nline"\r\n');
    const ex = await readTaskFile(f, { instruction: 'Default.' });
    expect(ex.map((e) => [e.instruction, e.input, e.output])).toEqual([
      ['Classify.', '1,2\n3 "x"', 'Tap'],
      ['Default.', long, 'Double tap'],
      ['Say.', '', 'multi\nline'],
    ]);
    expect(ex[2].where).toBe(`${f}: row 3 (line 6)`);
  });

  it('reads JSONL with a BOM, CRLF, other column names and numeric answers', async () => {
    const f = write('t.jsonl', '\ufeff{"q":"a b","a":14}\r\n\r\n{"q":"c","a":"x","extra":[1]}\r\n');
    const ex = await readTaskFile(f, { columns: { input: 'q', output: 'a' }, instruction: 'Rate?' });
    expect(ex.map((e) => [e.instruction, e.input, e.output])).toEqual([['Rate?', 'a b', '14'], ['Rate?', 'c', 'x']]);
  });

  it('refuses a missing output column or a row without an answer, naming file, row and column', async () => {
    const noCol = write('nocol.csv', 'instruction,input,label\nA,1,Tap\n');
    await expect(readTaskFile(noCol)).rejects.toThrow(/nocol\.csv: no column 'output' \(the answer\); the header has: instruction, input, label; name it with --output-column/);
    expect((await readTaskFile(noCol, { columns: { output: 'label' } }))[0].output).toBe('Tap');
    const empty = write('empty.csv', 'input,output\n1,Tap\n2,\n');
    await expect(readTaskFile(empty)).rejects.toThrow(/empty\.csv: row 2 \(line 3\), column 'output': no answer/);
    const jsonl = write('t.jsonl', '{"input":"1","output":"Tap"}\n{"input":"2"}\n');
    await expect(readTaskFile(jsonl)).rejects.toThrow(/t\.jsonl: row 2 \(line 2\), column 'output': no answer/);
    const bad = write('b.jsonl', '{"input":"1","output":"Tap"}\n{"input": 2,\n');
    await expect(readTaskFile(bad)).rejects.toThrow(/b\.jsonl: row 2 \(line 2\): not valid JSON/);
    const ragged = write('r.csv', 'input,output\n1,2,3\n');
    await expect(readTaskFile(ragged)).rejects.toThrow(/r\.csv: line 2: 3 fields, but the header has 2/);
    const named = write('n.csv', 'input,output\n1,Tap\n');
    await expect(readTaskFile(named, { columns: { instruction: 'task' } })).rejects.toThrow(/n\.csv: no column 'task' \(--instruction-column\)/);
    await expect(readTaskFile(path.join(path.dirname(named), 'missing.csv'))).rejects.toThrow(/missing\.csv: no such task file/);
  });

  it('splits one file by seed: disjoint, complete, reproducible, file order kept inside each part', () => {
    const rows = Array.from({ length: 100 }, (_, i) => i);
    const a = splitExamples(rows, { val: 0.1, test: 0.2 }, 7);
    expect([a.train.length, a.val.length, a.test.length]).toEqual([70, 10, 20]);
    expect([...a.train, ...a.val, ...a.test].sort((x, y) => x - y)).toEqual(rows);
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y));
    expect(splitExamples(rows, { val: 0.1, test: 0.2 }, 7)).toEqual(a);
    expect(splitExamples(rows, { val: 0.1, test: 0.2 }, 8).test).not.toEqual(a.test);
    expect(() => splitExamples([1, 2], { val: 0.5, test: 0.5 })).toThrow(/sum below 1/);
    expect(() => splitExamples([1, 2], { val: 0.1, test: 0.1 })).toThrow(/too few/);
    expect(labelSet([{ output: 'b' }, { output: 'a' }, { output: 'b' }])).toEqual(['b', 'a']);
  });
});

describe('commonInstruction', () => {
  it('is the most common instruction, the first of a tie, and empty for no rows', () => {
    const rows = (...xs: string[]) => xs.map((instruction) => ({ instruction, input: '' }));
    expect(commonInstruction(rows('a', 'b', 'b', 'a', 'b'))).toBe('b');
    expect(commonInstruction(rows('x', 'y', 'y', 'x'))).toBe('x');
    expect(commonInstruction(rows('', '', 'z'))).toBe('');
    expect(commonInstruction([])).toBe('');
  });
});
