// Fuzzed metrics.jsonl (src/train/metrics.ts), as --resume truncates it and the loss curve is drawn from it:
// damaged lines are skipped, never a crash.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MetricsLog } from '../../src/train/metrics.js';
import { writeLossCurve } from '../../src/train/run.js';
import { fuzzReader, runCase, type ReaderTarget } from './harness.js';

const FILE = 'metrics.jsonl';
const lines = [
  ...Array.from({ length: 8 }, (_, i) => ({ type: 'train', step: i + 1, loss: 5 - i * 0.3, lr: 1e-3, gradNorm: 1.5, ms: 40, tokPerSec: 9000 })),
  { type: 'val', step: 4, valLoss: 4.1 },
  { type: 'sample', step: 4, text: 'the sensor reads' },
];

export const metricsTarget: ReaderTarget<number> = {
  files: { [FILE]: lines.map((r) => `${JSON.stringify(r)}\n`).join('') },
  read(dir) {
    const log = new MetricsLog(path.join(dir, FILE));
    log.truncateAfter(6); // as --resume at step 6
    writeLossCurve(dir, log, 'fuzz');
    expect(fs.readFileSync(path.join(dir, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    return log.read().length;
  },
  check: (n) => expect(n).toBeLessThanOrEqual(lines.length),
};

describe('fuzzed metrics.jsonl', () => {
  it('every mutation is read, truncated and plotted (damaged lines skipped)', () => fuzzReader(metricsTarget, { numRuns: 100 }));

  it('skips lines that parse but are not records (a line "null" was a TypeError on --resume)', async () => {
    const out = await runCase(metricsTarget, { mutations: [{ kind: 'edit', file: FILE, apply: (b) => Buffer.concat([Buffer.from('null\n5\n{"step":"x"}\n'), b]) }], fix: false });
    expect(out.ok && out.result).toBe(8); // train steps 1..6, and the val and sample records of step 4
  });
});
