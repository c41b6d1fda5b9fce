// Gain (src/task/gain.ts): each series' deviations from its median scaled by one factor in [1/G, G], each reading
// rounded to its own decimals, never below zero for a series without negatives; text around the series kept.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gainSeries, scaleAboutMedian } from '../../src/task/gain.js';
import { SERIES_MIN } from '../../src/task/series.js';
import { Rng } from '../../src/util/rng.js';

const decimalsOf = (v: string) => (v.includes('.') ? v.length - v.indexOf('.') - 1 : 0);

describe('scaleAboutMedian', () => {
  it('keeps the median, count and decimals; scales each deviation by g within rounding; no negatives from none', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }).chain((d) => fc.array(fc.double({ min: -50, max: 1100, noNaN: true }).map((x) => x.toFixed(d)), { minLength: 1, maxLength: 60 })),
        fc.double({ min: 0.25, max: 4, noNaN: true }),
        (values, g) => {
          const out = scaleAboutMedian(values, g);
          expect(out).toHaveLength(values.length);
          const x = values.map(Number);
          const m = [...x].sort((a, b) => a - b)[x.length >> 1];
          const unit = Math.pow(10, -decimalsOf(values[0]));
          out.forEach((v, i) => {
            expect(decimalsOf(v)).toBe(decimalsOf(values[i]));
            const want = m + (x[i] - m) * g;
            if (x.every((y) => y >= 0)) {
              expect(Number(v)).toBeGreaterThanOrEqual(0);
              if (want >= 0) expect(Math.abs(Number(v) - want)).toBeLessThanOrEqual(unit / 2 + 1e-9 * Math.abs(want));
            } else expect(Math.abs(Number(v) - want)).toBeLessThanOrEqual(unit / 2 + 1e-9 * Math.abs(want));
            if (x[i] === m) expect(Number(v) + 0).toBe(m + 0);
          });
          expect(scaleAboutMedian(values, 1).map((v) => Number(v) + 0)).toEqual(x.map((v) => v + 0));
        },
      ),
    );
  });

  it('a resting level with a dip: the dip deepens or flattens, the level stays; exponent notation is left as written', () => {
    expect(scaleAboutMedian(['253', '254', '253', '120', '0', '130', '253'], 1.5)).toEqual(['253', '255', '253', '54', '0', '69', '253']);
    expect(scaleAboutMedian(['253', '254', '253', '120', '0', '130', '253'], 0.5)).toEqual(['253', '254', '253', '187', '127', '192', '253']);
    expect(scaleAboutMedian(['1e3', '2', '3'], 2)).toEqual(['1e3', '2', '3']);
  });
});

describe('gainSeries', () => {
  const row = (vals: number[], head: string) => `${head}[${vals.join(', ')}]`;
  it('scales each series of a gesture row by its own factor, keeping heads and separators; G ≤ 1 is the identity', () => {
    const rng = new Rng(3);
    const lines = ['Proximity: ', 'Red: ', 'Green: ', 'Blue: '].map((h) => row(Array.from({ length: 50 }, (_, i) => (i > 20 && i < 26 ? 10 * i : 253)), h));
    const text = lines.join('\n');
    const out = gainSeries(text, 2, rng).split('\n');
    const factors = out.map((line, k) => {
      expect(line.startsWith(['Proximity: [', 'Red: [', 'Green: [', 'Blue: ['][k])).toBe(true);
      const v = (line.match(/\[(.*)\]/) as RegExpMatchArray)[1].split(', ').map(Number);
      expect(v).toHaveLength(50);
      return (v[21] - 253) / (210 - 253);
    });
    for (const f of factors) expect(f).toBeGreaterThan(0.5 - 0.05);
    for (const f of factors) expect(f).toBeLessThan(2 + 0.05);
    expect(new Set(factors.map((f) => f.toFixed(3))).size).toBe(4);
    expect(gainSeries(text, 1, new Rng(3))).toBe(text);
    expect(gainSeries(text, 2, new Rng(3))).toBe(out.join('\n')); // repeatable for a seed
  });

  it('a window written one timestep per line: each channel (number position) scaled down the lines; short windows stay', () => {
    const steps = Array.from({ length: SERIES_MIN + 4 }, (_, i) => `[${100 + (i === 8 ? 50 : 0)} ${20 - (i === 8 ? 10 : 0)}.5]`);
    const out = gainSeries(steps.join('\n'), 3, new Rng(9)).split('\n');
    expect(out).toHaveLength(steps.length);
    out.forEach((l, i) => {
      if (i !== 8) expect(l).toBe(steps[i]); // at the median: unchanged
      else expect(l).toMatch(/^\[\d+ \d+\.\d\]$/);
    });
    expect(out[8]).not.toBe(steps[8]);
    const short = steps.slice(0, SERIES_MIN - 1).join('\n');
    expect(gainSeries(short, 3, new Rng(9))).toBe(short);
  });
});
