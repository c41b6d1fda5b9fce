// Training metrics as JSON Lines (one object per event: train step, validation, sample), appended as the
// run goes so a crash loses nothing; on --resume, lines past the checkpoint's step are dropped so the log
// matches the restored run.
import * as fs from 'node:fs';
import { writeFileAtomic } from '../util/fs.js';
import { isObject } from '../util/guards.js';

export type MetricRecord =
  | { type: 'train'; step: number; loss: number; lr: number; gradNorm: number; ms: number; tokPerSec: number }
  | { type: 'val'; step: number; valLoss: number; valAccuracy?: number }
  | { type: 'sample'; step: number; text: string };

export class MetricsLog {
  constructor(readonly path: string) {}

  append(r: MetricRecord): void {
    fs.appendFileSync(this.path, `${JSON.stringify(r)}\n`);
  }

  /** All records in the file (unparseable lines, e.g. a torn last line after a crash, and non-records are skipped). */
  read(): MetricRecord[] {
    if (!fs.existsSync(this.path)) return [];
    const out: MetricRecord[] = [];
    for (const line of fs.readFileSync(this.path, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      let r: unknown;
      try {
        r = JSON.parse(line);
      } catch {
        continue; // torn line
      }
      if (isObject(r) && typeof r.step === 'number') out.push(r as MetricRecord);
    }
    return out;
  }

  /** Keeps only records up to and including `step` (starting a fresh file when step is 0). */
  truncateAfter(step: number): void {
    const kept = this.read().filter((r) => r.step <= step);
    writeFileAtomic(this.path, kept.map((r) => `${JSON.stringify(r)}\n`).join(''));
  }
}
