// The loss-curve SVG: one path per series, a point per validation, the baseline line, escaped title,
// and sane output for empty or non-finite data.
import { describe, expect, it } from 'vitest';
import { lossCurveSvg } from '../../src/train/losscurve.js';

describe('lossCurveSvg', () => {
  it('draws train, smoothed train, validation points and the baseline', () => {
    const train = Array.from({ length: 50 }, (_, i) => ({ step: i + 1, loss: 5 * Math.exp(-i / 10) + 1 }));
    const val = [10, 20, 30].map((step) => ({ step, loss: 2 }));
    const svg = lossCurveSvg({ train, val, title: 'a <b> & c', baseline: { loss: 4.5, label: 'unigram' } });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('a &lt;b&gt; &amp; c');
    expect(svg.match(/<circle /g)?.length).toBe(3 + 1); // 3 validation points + the legend dot
    expect(svg).toContain('unigram 4.500');
    const trainPath = /<path d="([^"]*)" fill="none" stroke="#9ecae1"/.exec(svg)?.[1] ?? '';
    expect(trainPath.split(/[ML]/).filter(Boolean).length).toBe(50);
    expect(svg).not.toMatch(/NaN|Infinity/);
  });

  it('copes with no data and with non-finite losses', () => {
    for (const d of [{ train: [], val: [] }, { train: [{ step: 1, loss: NaN }, { step: 2, loss: 3 }], val: [{ step: 2, loss: Infinity }] }]) {
      const svg = lossCurveSvg(d);
      expect(svg).toMatch(/^<svg/);
      expect(svg).not.toMatch(/NaN|Infinity/);
    }
  });

  it('smooths without lag: on a straight line the centred average is the line itself, away from the ends', () => {
    const train = Array.from({ length: 100 }, (_, i) => ({ step: i + 1, loss: 10 - i / 10 }));
    const svg = lossCurveSvg({ train, val: [] });
    const points = (stroke: string) => (new RegExp(`<path d="([^"]*)" fill="none" stroke="${stroke}"`).exec(svg)?.[1] ?? '').split(/[ML]/).filter(Boolean);
    expect(points('#08519c').slice(10, 90)).toEqual(points('#9ecae1').slice(10, 90));
  });

  it('draws runs longer than a function call may take arguments', () => {
    const train = Array.from({ length: 300_000 }, (_, i) => ({ step: i + 1, loss: 10 - i / 50_000 }));
    expect(lossCurveSvg({ train, val: [] })).toMatch(/<\/svg>\s*$/);
  });
});
