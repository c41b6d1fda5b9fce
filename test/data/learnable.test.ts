// The built-in tasks must be learnable but not trivial: a 7-nearest-neighbour classifier on simple
// hand-made features should do well above chance (1/3) yet below perfect on the test split.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDatasets } from '../../src/data/generate/index.js';
import { tmpDir } from './helpers.js';

type Sample = { rows: number[][]; label: string };

function load(file: string): Sample[] {
  const bySample = new Map<string, Sample>();
  for (const line of fs.readFileSync(file, 'utf8').trim().split('\n').slice(1)) {
    const f = line.split(',');
    const s = bySample.get(f[0]) ?? { rows: [], label: f[f.length - 1] };
    s.rows.push(f.slice(1, -1).map(Number));
    bySample.set(f[0], s);
  }
  return [...bySample.values()];
}

const features: Record<string, (s: Sample) => number[]> = {
  // per-channel means
  robot: (s) => s.rows[0].map((_, c) => s.rows.reduce((a, r) => a + r[c], 0) / s.rows.length),
  // time above half the proximity peak, number of rises through it, peak height
  gesture: (s) => {
    const p = s.rows.map((r) => r[0]);
    const lo = Math.min(...p);
    const hi = Math.max(...p);
    const thr = lo + (hi - lo) / 2;
    let above = 0;
    let rises = 0;
    p.forEach((x, i) => {
      if (x > thr) above++;
      if (i > 0 && x > thr && p[i - 1] <= thr) rises++;
    });
    return [above, rises * 10, hi / 20];
  },
};

function knnAccuracy(train: Sample[], test: Sample[], feat: (s: Sample) => number[], k = 7): number {
  const tr = train.map((s) => ({ f: feat(s), y: s.label }));
  const d = tr[0].f.length;
  const mean = Array.from({ length: d }, (_, i) => tr.reduce((a, s) => a + s.f[i], 0) / tr.length);
  const std = Array.from({ length: d }, (_, i) => Math.sqrt(tr.reduce((a, s) => a + (s.f[i] - mean[i]) ** 2, 0) / tr.length) || 1);
  const z = (f: number[]) => f.map((v, i) => (v - mean[i]) / std[i]);
  const trz = tr.map((s) => ({ f: z(s.f), y: s.y }));
  let correct = 0;
  for (const s of test) {
    const q = z(feat(s));
    const near = trz.map((t) => ({ d: t.f.reduce((a, v, i) => a + (v - q[i]) ** 2, 0), y: t.y })).sort((a, b) => a.d - b.d).slice(0, k);
    const votes = new Map<string, number>();
    for (const n of near) votes.set(n.y, (votes.get(n.y) ?? 0) + 1);
    if ([...votes].sort((a, b) => b[1] - a[1])[0][0] === s.label) correct++;
  }
  return correct / test.length;
}

describe('built-in tasks', () => {
  const out = tmpDir();
  generateDatasets({ out, seed: 11, scale: 0.5 });
  for (const task of ['gesture', 'robot']) {
    it(`${task}: learnable but not trivial`, () => {
      const acc = knnAccuracy(load(path.join(out, task, 'train.csv')), load(path.join(out, task, 'test.csv')), features[task]);
      expect(acc).toBeGreaterThan(0.8);
      expect(acc).toBeLessThan(1);
    });
  }
});
