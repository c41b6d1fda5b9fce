// Rescale (src/task/rescale.ts): each series written as whole numbers 0..99 of its own range, the smallest reading 0
// and the largest 99, order kept; text around the series and lines that are no series kept as they were.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RESCALE_TOP, rescaleReadings, rescaleSeries } from '../../src/task/rescale.js';
import { SERIES_MIN } from '../../src/task/series.js';
import { taskPrompt } from '../../src/runtime/prompt.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { gpt2 } from '../../src/tokenizer/index.js';

describe('rescaleReadings', () => {
  it('maps [min, max] linearly onto 0..99 and rounds: min → 0, max → 99, order kept, within half a step', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }).chain((d) => fc.array(fc.double({ min: -500, max: 5000, noNaN: true }).map((x) => x.toFixed(d)), { minLength: 2, maxLength: 80 })),
        (values) => {
          const x = values.map(Number);
          const y = rescaleReadings(values).map(Number);
          expect(y).toHaveLength(x.length);
          const lo = Math.min(...x);
          const hi = Math.max(...x);
          y.forEach((v, i) => {
            expect(Number.isInteger(v) && v >= 0 && v <= RESCALE_TOP).toBe(true);
            if (hi > lo) expect(Math.abs(v - ((x[i] - lo) / (hi - lo)) * RESCALE_TOP)).toBeLessThanOrEqual(0.5 + 1e-9);
            else expect(v).toBe(0);
            for (let j = 0; j < x.length; j++) if (x[i] < x[j]) expect(v).toBeLessThanOrEqual(y[j]);
          });
          if (hi > lo) {
            expect(y[x.indexOf(lo)]).toBe(0);
            expect(y[x.indexOf(hi)]).toBe(RESCALE_TOP);
          }
        },
      ),
    );
  });

  it('a dip at any level and depth reads the same', () => {
    const dip = (level: number, depth: number) => [0, 0, 0, 1, 2, 1, 0, 0].map((k) => String(level - k * depth));
    expect(rescaleReadings(dip(254, 30))).toEqual(rescaleReadings(dip(1300, 550)));
    expect(rescaleReadings(dip(254, 30))).toEqual(['99', '99', '99', '50', '0', '50', '99', '99']);
  });
});

describe('rescaleSeries', () => {
  it('rewrites series along a line and down the lines; short lines, labels and separators stay', () => {
    const along = Array.from({ length: SERIES_MIN }, (_, i) => 200 + 10 * i);
    const text = `Proximity: [${along.join(', ')}]\nnote: 5 7 9\n` + Array.from({ length: SERIES_MIN }, (_, i) => `[${1000 + i} ${(i % 2) * 4}]`).join('\n');
    const out = rescaleSeries(text).split('\n');
    expect(out[0]).toBe(`Proximity: [${along.map((_, i) => Math.round((i / (SERIES_MIN - 1)) * 99)).join(', ')}]`);
    expect(out[1]).toBe('note: 5 7 9');
    out.slice(2).forEach((line, i) => expect(line).toBe(`[${Math.round((i / (SERIES_MIN - 1)) * 99)} ${(i % 2) * 99}]`));
    const short = 'pressure 1013.2 humidity 43.5 temperature 22.1';
    expect(rescaleSeries(short)).toBe(short);
  });
});

describe('a rescaling template in use', () => {
  it("the runtime (generate -m, serve) writes a request's series rescaled, then cuts the rescaled input to the context", async () => {
    const tokenizer = await gpt2();
    const window = Array.from({ length: 40 }, (_, i) => 1200 - (i > 10 && i < 20 ? 900 : 0) + (i % 3)).join(', ');
    const input = `Red: [${window}]`;
    const model = (series: boolean, blockSize: number) => ({ tokenizer, config: { blockSize } as never, finetune: { promptTemplate: { ...TINYLLM_TEMPLATE, ...(series ? { series: 'rescale' as const } : {}) } } });
    const written = rescaleSeries(input);
    expect(written).not.toBe(input);
    expect(taskPrompt(model(true, 256), { instruction: 'Which gesture?', input }, 4).ids).toEqual(taskPrompt(model(false, 256), { instruction: 'Which gesture?', input: written }, 4).ids);
    // too long for the context: the rescaled window is cut, not a cut window rescaled
    const cut = taskPrompt(model(true, 60), { instruction: 'Which gesture?', input }, 4).ids;
    expect(cut).toEqual(taskPrompt(model(false, 60), { instruction: 'Which gesture?', input: written }, 4).ids);
    expect(cut.length).toBeLessThanOrEqual(61 - 4);
  });
});
