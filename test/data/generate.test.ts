import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateDatasets } from '../../src/data/generate/index.js';
import { tmpDir } from './helpers.js';

describe('generateDatasets', () => {
  it('is deterministic for a seed and writes every split', () => {
    const a = tmpDir();
    const b = tmpDir();
    const s = generateDatasets({ out: a, seed: 5, scale: 0.05 });
    generateDatasets({ out: b, seed: 5, scale: 0.05 });
    for (const f of [...s.gesture.files, ...s.robot.files, ...s.sensorLogs.files, ...s.text.files, 'datasets.json']) {
      expect(fs.readFileSync(path.join(a, f)).equals(fs.readFileSync(path.join(b, f))), f).toBe(true);
    }
    const c = tmpDir();
    generateDatasets({ out: c, seed: 6, scale: 0.05 });
    expect(fs.readFileSync(path.join(a, 'gesture/train.csv')).equals(fs.readFileSync(path.join(c, 'gesture/train.csv')))).toBe(false);
  });

  it('writes 50 rows per gesture sample and matching Alpaca JSONL', () => {
    const out = tmpDir();
    const s = generateDatasets({ out, seed: 1, scale: 0.05 });
    const lines = fs.readFileSync(path.join(out, 'gesture/train.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe('sample,proximity,red,green,blue,label');
    expect(lines.length - 1).toBe(50 * s.gesture.samples.train);
    const jsonl = fs.readFileSync(path.join(out, 'gesture/val.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(jsonl).toHaveLength(s.gesture.samples.val);
    expect(jsonl[0].instruction).toMatch(/^Classify the hand gesture/);
    expect(jsonl[0].input).toMatch(/^proximity: (\d+ ){49}\d+\nred: (\d+ ){49}\d+\ngreen: (\d+ ){49}\d+\nblue: (\d+ ){49}\d+$/);
    expect(['Tap', 'Double tap', 'Hold']).toContain(jsonl[0].output);
    const robot = fs.readFileSync(path.join(out, 'robot/test.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(robot[0].input).toMatch(/^(\[[\d. ]+\]\n){9}\[[\d. ]+\]$/);
  });
});
