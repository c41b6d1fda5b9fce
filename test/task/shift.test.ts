// Time shift (src/task/shift.ts): every series of SERIES_MIN or more readings moves by the same d readings, the edge
// reading repeated: numbers along a line, or lines of one shape (a timestep each) down the input; separators, labels
// and short windows stay as they are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasSeries, SERIES_MIN } from '../../src/task/series.js';
import { shiftSeries } from '../../src/task/shift.js';

/** A labelled series line `name: <open>v0<sep>v1…<close>` and its values. */
const seriesLine = fc
  .tuple(
    fc.constantFrom('Proximity: [', 'red: ', 'x=', ''),
    fc.constantFrom(', ', ' ', ',', '; '),
    fc.array(fc.oneof(fc.integer({ min: -999, max: 4095 }).map(String), fc.double({ min: -50, max: 1100, noNaN: true }).map((x) => x.toFixed(2))), { minLength: SERIES_MIN, maxLength: 60 }),
    fc.constantFrom(']', '', ' end'),
  )
  .map(([head, sep, values, tail]) => ({ text: `${head}${values.join(sep)}${tail}`, head, sep, values, tail }));

const moved = (values: string[], d: number) => values.map((_, i) => values[Math.min(values.length - 1, Math.max(0, i - d))]);

describe('shiftSeries', () => {
  it('moves every series line by d readings with the edge repeated, keeping its head, separators and tail', () => {
    fc.assert(
      fc.property(fc.array(seriesLine, { minLength: 1, maxLength: 4 }), fc.integer({ min: -8, max: 8 }), (lines, d) => {
        const out = shiftSeries(lines.map((l) => l.text).join('\n'), d).split('\n');
        expect(out.length).toBe(lines.length);
        lines.forEach((l, i) => expect(out[i]).toBe(`${l.head}${moved(l.values, d).join(l.sep)}${l.tail}`));
      }),
    );
  });

  it('leaves short lines (one timestep of a few channels) and text without series unchanged, and d = 0 is the identity', () => {
    const robot = '[1014.5 33.9 27.02 60 99 134 64.5]\n[1014.2 34.0 26.79 68 85 131 62.6]';
    expect(shiftSeries(robot, 3)).toBe(robot);
    const csvRow = '1003.61,69.19,24.31,55.84,7,5,4,174';
    expect(shiftSeries(csvRow, -2)).toBe(csvRow);
    const fifteen = Array.from({ length: SERIES_MIN - 1 }, (_, i) => i).join(', ');
    expect(shiftSeries(fifteen, 1)).toBe(fifteen);
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: -8, max: 8 }), (t, d) => {
        expect(shiftSeries(t, 0)).toBe(t);
        const lines = t.split('\n');
        if (lines.length < SERIES_MIN && lines.every((l) => (l.match(/\d+/g) ?? []).length < SERIES_MIN)) expect(shiftSeries(t, d)).toBe(t);
      }),
    );
  });

  it('a run split by another separator is two runs, each shifted on its own when long enough', () => {
    const a = Array.from({ length: 20 }, (_, i) => String(100 + i));
    const b = Array.from({ length: 3 }, (_, i) => String(7 + i));
    const line = `${a.join(', ')} | ${b.join(', ')}`;
    expect(shiftSeries(line, 2)).toBe(`${moved(a, 2).join(', ')} | ${b.join(', ')}`);
  });

  it('shifts TinyLLM-style gesture rows so a dip moves by d readings on all four channels alike', () => {
    const dip = (base: number, low: number) => Array.from({ length: 50 }, (_, t) => String(t >= 20 && t < 26 ? low : base));
    const channels = [dip(254, 195), dip(1329, 200), dip(1144, 180), dip(1168, 170)];
    const text = ['Proximity', 'Red', 'Green', 'Blue'].map((c, j) => `${c}: [${channels[j].join(', ')}]`).join('\n');
    const out = shiftSeries(text, -5).split('\n');
    out.forEach((line, j) => {
      const values = (line.match(/\[(.*)\]/) as RegExpMatchArray)[1].split(', ');
      expect(values.length).toBe(50);
      expect(values.findIndex((v) => v !== channels[j][0])).toBe(15);
      expect(values.slice(45)).toEqual(Array(5).fill(channels[j][0]));
    });
  });

  /** A window written one timestep per line: `<open>v<sep>v…<close>` lines of one shape, and its values. */
  const rowsWindow = fc
    .tuple(
      fc.constantFrom(['[', ' ', ']'], ['', ',', ''], ['t: ', ', ', ';']),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: SERIES_MIN, max: 40 }),
    )
    .chain(([[open, sep, close], channels, steps]) =>
      fc.array(fc.array(fc.integer({ min: -99, max: 9999 }).map(String), { minLength: channels, maxLength: channels }), { minLength: steps, maxLength: steps }).map((rows) => rows.map((r) => `${open}${r.join(sep)}${close}`)),
    );

  it('moves a window written one timestep per line by d whole lines, the edge line repeated; text around it stays', () => {
    fc.assert(
      fc.property(rowsWindow, fc.integer({ min: -8, max: 8 }), (rows, d) => {
        const text = ['Readings (pressure, humidity, …):', ...rows, '', 'end of window'].join('\n');
        const out = shiftSeries(text, d).split('\n');
        expect(out[0]).toBe('Readings (pressure, humidity, …):');
        expect(out.slice(1, 1 + rows.length)).toEqual(moved(rows, d));
        expect(out.slice(1 + rows.length)).toEqual(['', 'end of window']);
      }),
    );
  });

  it('a window of fewer than SERIES_MIN timestep lines, or lines of different shapes, stays put; CRLF ends do not split a window', () => {
    const step = (i: number) => `[${1014 + i}.5 33.${i} 27.02]`;
    const short = Array.from({ length: SERIES_MIN - 1 }, (_, i) => step(i)).join('\n');
    expect(shiftSeries(short, 3)).toBe(short);
    // every other line has one channel more: no run of one shape is long enough
    const mixed = Array.from({ length: 2 * SERIES_MIN }, (_, i) => (i % 2 ? `${step(i)} 7` : step(i))).join('\n');
    expect(shiftSeries(mixed, 2)).toBe(mixed);
    // lines that are series themselves move along the line, not down the input (no double shift)
    const columns = Array.from({ length: SERIES_MIN }, (_, c) => Array.from({ length: 20 }, (_, t) => String(t === 10 ? 500 + c : 7)).join(' ')).join('\n');
    expect(shiftSeries(columns, 2)).toBe(columns.split('\n').map((l) => moved(l.split(' '), 2).join(' ')).join('\n'));
    // CRLF line ends (a JSONL string written on Windows): the last line, without its CR, belongs to the window too
    const crlf = Array.from({ length: SERIES_MIN }, (_, i) => step(i));
    const crlfText = crlf.map((l, i) => (i < SERIES_MIN - 1 ? `${l}\r` : l)).join('\n');
    expect(shiftSeries(crlfText, 1).split('\n').slice(0, 2)).toEqual([`${crlf[0]}\r`, `${crlf[0]}\r`]);
  });

  it('hasSeries: true for a varying series in either layout, false for text a shift leaves unchanged', () => {
    const rows = Array.from({ length: SERIES_MIN }, (_, i) => `[${i} 5]`).join('\n');
    expect(hasSeries(rows)).toBe(true);
    expect(hasSeries(`x: ${Array.from({ length: SERIES_MIN }, (_, i) => i).join(', ')}`)).toBe(true);
    expect(hasSeries('[1014.5 33.9 27.02 60 99 134 64.5]\n[1014.2 34.0 26.79 68 85 131 62.6]')).toBe(false);
    expect(hasSeries(Array(SERIES_MIN).fill('[3 5]').join('\n'))).toBe(false); // constant: nothing moves
  });

  it('hasSeries is exactly "a shift by one reading either way changes the text" (property)', () => {
    const line = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 2 * SERIES_MIN }).map((xs) => `p: ${xs.join(', ')}`);
    const rows = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), { minLength: 1, maxLength: 2 * SERIES_MIN }).map((rs) => rs.map(([a, b]) => `[${a} ${b}]`).join('\n'));
    fc.assert(
      fc.property(fc.oneof(line, rows), (text) => {
        expect(hasSeries(text)).toBe(shiftSeries(text, 1) !== text || shiftSeries(text, -1) !== text);
      }),
      { numRuns: 300 },
    );
  });
});
