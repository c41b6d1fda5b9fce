// Time shift (src/task/shift.ts): every series of SERIES_MIN or more numbers on a line moves by the same d readings,
// the edge reading repeated; separators, labels and short lines (one timestep of several channels) stay as they are.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SERIES_MIN, shiftSeries } from '../../src/task/shift.js';

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
        if (t.split('\n').every((l) => (l.match(/\d+/g) ?? []).length < SERIES_MIN)) expect(shiftSeries(t, d)).toBe(t);
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
});
