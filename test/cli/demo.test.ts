// End to end: the `tinyllm demo` pipeline (what `npm start` runs) on a tiny model with tiny data — datasets,
// shards, the pre-trained checkpoint, both fine-tuned runs with their eval reports, and the results table.
import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main.js';
import { readShardHeader } from '../../src/data/index.js';
import { readTaskInfo } from '../../src/task/info.js';
import { readCheckpointHeader } from '../../src/train/index.js';

describe('tinyllm demo', () => {
  it('runs the whole pipeline and leaves every artefact behind', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-demo-'));
    let printed = '';
    const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
      printed += `${a.join(' ')}\n`;
    });
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const code = await main(['demo', '--out', out, '--steps', '2', '--n-layer', '1', '--n-embd', '32', '--scale', '0.02', '--ft-steps', '2', '--eval-limit', '3']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
      write.mockRestore();
      err.mockRestore();
    }
    expect(fs.existsSync(path.join(out, 'datasets', 'robot', 'test.jsonl'))).toBe(true);
    const train = readShardHeader(path.join(out, 'data', 'sensing_train_000000.bin'));
    expect(train.magic).toBe(20240520);
    expect(readCheckpointHeader(path.join(out, 'model', 'checkpoint.ckpt')).step).toBe(2);
    for (const task of ['gesture', 'robot']) {
      expect(readCheckpointHeader(path.join(out, task, 'state.ckpt')).step).toBe(2);
      expect(readTaskInfo(path.join(out, task))?.labels.length).toBeGreaterThan(1);
      const report = JSON.parse(fs.readFileSync(path.join(out, task, 'eval.json'), 'utf8'));
      expect(report.rows).toBe(3);
      expect(report.baselines.length).toBeGreaterThan(1);
    }
    expect(printed).toMatch(/Results on the held-out test splits/);
    expect(printed).toMatch(/\ngesture +\d+\.\d % +\d+\.\d % +\d+\.\d % \(.+\) +[\d,]+ /);
    expect(printed).toMatch(/\nrobot +\d+\.\d % /);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
