// End to end: the `tinyllm demo` pipeline (what `npm start` runs) on a tiny model for two steps —
// datasets, shards, a checkpoint, metrics and the loss curve must all be there afterwards.
import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main.js';
import { readShardHeader } from '../../src/data/index.js';
import { readCheckpointHeader } from '../../src/train/index.js';

describe('tinyllm demo', () => {
  it('runs the whole pipeline and leaves every artefact behind', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-demo-'));
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const code = await main(['demo', '--out', out, '--steps', '2', '--n-layer', '1', '--n-embd', '32']);
      expect(code).toBe(0);
    } finally {
      log.mockRestore();
      write.mockRestore();
    }
    expect(fs.existsSync(path.join(out, 'datasets', 'robot', 'test.jsonl'))).toBe(true);
    const train = readShardHeader(path.join(out, 'data', 'sensing_train_000000.bin'));
    expect(train.magic).toBe(20240520);
    expect(train.numTokens).toBeGreaterThan(100_000);
    const ckpt = readCheckpointHeader(path.join(out, 'model', 'checkpoint.ckpt'));
    expect(ckpt.step).toBe(2);
    const metrics = fs.readFileSync(path.join(out, 'model', 'metrics.jsonl'), 'utf8').trim().split('\n');
    expect(metrics.length).toBeGreaterThanOrEqual(2);
    expect(fs.readFileSync(path.join(out, 'model', 'loss.svg'), 'utf8')).toMatch(/^<svg|<\?xml/);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
