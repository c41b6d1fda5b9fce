// The SVG plotting helpers: one shape per datum at the right place and size, escaped labels, masked
// (NaN) cells, and clear errors for ragged input. The loss curve's own tests are in test/train.
import { describe, expect, it } from 'vitest';
import { barChartSvg, heatmapSvg, lineChartSvg } from '../../src/index.js';

const attr = (tag: string, name: string) => Number(new RegExp(`${name}="([-0-9.]+)"`).exec(tag)?.[1]);

describe('heatmapSvg', () => {
  it('draws one cell per value, darker for larger values, grey for NaN, with numbers when asked', () => {
    const svg = heatmapSvg([[0, 1, NaN], [2, 3, 4]], { rowLabels: ['a<b', 'c'], colLabels: ['x', 'y', 'z'], annotate: true, title: 'T' });
    const cells: string[] = svg.match(/<rect x="[^"]*" y="[^"]*" width="(\d+)" height="\1" fill="[^"]*" stroke="white"/g) ?? [];
    expect(cells.length).toBe(6);
    expect(cells[2]).toContain('#e0e0e0');
    const lum = (c: string) => {
      const [r, g, b] = (/rgb\((\d+),(\d+),(\d+)\)/.exec(c) ?? []).slice(1).map(Number);
      return r + g + b;
    };
    expect(lum(cells[0])).toBeGreaterThan(lum(cells[1]));
    expect(lum(cells[3])).toBeGreaterThan(lum(cells[5]));
    expect(svg).toContain('a&lt;b');
    for (const v of ['0', '1', '2', '3', '4']) expect(svg).toContain(`>${v}</text>`);
    expect(svg).not.toMatch(/NaN/);
  });

  it('rejects ragged rows', () => {
    expect(() => heatmapSvg([[1, 2], [3]])).toThrow(/rows have different lengths/);
  });
});

describe('barChartSvg', () => {
  it('draws bars with lengths proportional to the values, grouped per category', () => {
    const svg = barChartSvg({ categories: ['a', 'b'], series: [{ label: 's1', values: [10, 5] }, { label: 's2', values: [2.5, 0] }] });
    const bars = (svg.match(/<rect x="[^"]*" y="[^"]*" width="[^"]*" height="12" fill="[^"]*"\/>/g) ?? []).map((t) => attr(t, 'width'));
    expect(bars.length).toBe(4);
    expect(bars[1] / bars[0]).toBeCloseTo(0.25, 2); // a: s1 10, s2 2.5
    expect(bars[2] / bars[0]).toBeCloseTo(0.5, 2); // b: s1 5
    expect(bars[3]).toBe(0);
    expect(svg).toContain('>s2</text>');
  });

  it('says which series does not fit the categories', () => {
    expect(() => barChartSvg({ categories: ['a'], series: [{ label: 'bad', values: [1, 2] }] })).toThrow(/series 'bad' has 2 values for 1 categories/);
  });
});

describe('lineChartSvg', () => {
  it('draws each series through its points, left to right, higher values higher up', () => {
    const svg = lineChartSvg({ series: [{ label: 'up', points: [0, 1, 2, 3].map((x) => ({ x, y: x * x })), color: '#123456' }] });
    const d = /<path d="([^"]*)" fill="none" stroke="#123456"/.exec(svg)?.[1] ?? '';
    const pts = d.split(/[ML]/).filter(Boolean).map((p) => p.split(',').map(Number));
    expect(pts.length).toBe(4);
    for (let i = 1; i < 4; i++) {
      expect(pts[i][0]).toBeGreaterThan(pts[i - 1][0]);
      expect(pts[i][1]).toBeLessThan(pts[i - 1][1]);
    }
    expect(svg).toContain('>up</text>');
  });

  it('draws huge constant values with a few ticks and finite coordinates (adding a tick step to 1e20 never moved: the heap filled)', () => {
    for (const v of [1e20, -3e17, 2 ** 60, 1e300]) {
      const svg = lineChartSvg({ series: [{ label: 'loss', points: [{ x: v, y: v }], color: '#123456', dots: true }] });
      const ticks = svg.match(/<text [^>]*>[^<]*<\/text>/g) ?? [];
      expect(ticks.length, String(v)).toBeLessThan(30);
      expect(svg, String(v)).not.toMatch(/NaN|Infinity/);
    }
  });
});
