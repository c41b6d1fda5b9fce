import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../../src/data/csv.js';
import { firstInvalidUtf8, readLines } from '../../src/data/lines.js';
import { renderWindow, windowLabel, type Window } from '../../src/data/render.js';
import { csvField } from '../../src/data/generate/output.js';
import { tmpDir } from './helpers.js';

const w: Window = { columns: ['t', 'h'], values: [['21.456', '40'], ['21.5', '41']], labels: ['warm', 'warm'] };

describe('renderWindow', () => {
  it('renders rows, columns, instruction and custom templates', () => {
    expect(renderWindow(w)).toBe('[21.456 40] warm\n[21.5 41] warm');
    expect(renderWindow(w, { precision: 1 })).toBe('[21.5 40.0] warm\n[21.5 41.0] warm');
    expect(renderWindow(w, { layout: 'columns' })).toBe('t: 21.456 21.5\nh: 40 41\nwarm');
    expect(renderWindow(w, { template: 'instruction', instruction: 'Hot?' })).toBe('### Instruction:\nHot?\n\n### Input:\n[21.456 40]\n[21.5 41]\n\n### Response:\nwarm\n\n### End');
    expect(renderWindow(w, { template: 'h={h} t={t} -> {label}', precision: 0 })).toBe('h=40 t=21 -> warm\nh=41 t=22 -> warm');
    expect(renderWindow(w, { normalize: 'minmax', precision: 2 }, [[21, 22], [40, 42]])).toBe('[0.46 0.00] warm\n[0.50 0.50] warm');
  });

  it('takes the most frequent label for a window', () => {
    expect(windowLabel(['a', 'b', 'b', 'a', 'b'])).toBe('b');
    expect(windowLabel(['', ''])).toBe('');
  });
});

describe('line and CSV reading', () => {
  it('reads any lines back exactly, across chunk boundaries, with CRLF and a BOM', async () => {
    const dir = tmpDir();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: 'grapheme' }).map((s) => s.replace(/[\r\n]/g, '')), { minLength: 1, maxLength: 50 }), fc.boolean(), async (lines, crlf) => {
        const f = path.join(dir, 'l.txt');
        const eol = crlf ? '\r\n' : '\n';
        fs.writeFileSync(f, '\ufeff' + lines.join(eol) + (lines.at(-1) === '' ? eol : ''));
        const got: string[] = [];
        for await (const l of readLines(f, undefined, 7)) {
          expect(l.number).toBe(got.length + 1);
          got.push(l.text);
        }
        expect(got).toEqual(lines);
      }),
      { numRuns: 40 },
    );
  });

  it('parses quoted CSV fields with commas, quotes and newlines', async () => {
    const dir = tmpDir();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.string(), { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 20 }), async (rows) => {
        const f = path.join(dir, 'q.csv');
        const nonBlank = rows.filter((r) => r.join(',').trim() !== '' || r.some((x) => /[",\n\r]/.test(x)));
        fs.writeFileSync(f, nonBlank.map((r) => r.map((x) => (x === '' ? '""' : csvField(x))).join(',')).join('\n') + '\n');
        const got: string[][] = [];
        for await (const rec of readCsv(f, undefined, ',')) {
          expect(rec.bad).toBeUndefined();
          got.push(rec.fields);
        }
        // \r inside quoted fields survives; a bare \r before \n is a line ending
        expect(got).toEqual(nonBlank.map((r) => r.map((x) => x.replace(/\r(?=\n)/g, ''))));
      }),
      { numRuns: 60 },
    );
  });

  it('finds the first invalid UTF-8 byte', () => {
    expect(firstInvalidUtf8(Buffer.from('héllo'))).toBe(-1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xc3]))).toBe(1);
    expect(firstInvalidUtf8(Buffer.from([0x61, 0xed, 0xa0, 0x80]))).toBe(1); // a UTF-16 surrogate
    expect(firstInvalidUtf8(Buffer.from([0xf0, 0x9f, 0x98, 0x80]))).toBe(-1);
  });
});
