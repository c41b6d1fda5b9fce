// End to end: the `tinyllm demo` pipeline (what `npm start` runs) on a tiny model with tiny data. Ctrl-C
// during pre-training saves, stops the demo (no fine-tuning), exits 130 and names `tinyllm demo --resume`;
// the resumed demo finishes: datasets, shards, the pre-trained checkpoint, both fine-tuned runs with their
// eval reports, and the results table.
import { describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../src/cli/main.js';
import { readShardHeader } from '../../src/data/index.js';
import { readTaskInfo } from '../../src/task/info.js';
import { readCheckpointHeader } from '../../src/train/index.js';

/** Runs the CLI with stdout/console captured; `onStderr` sees every stderr chunk. */
async function cli(argv: string[], onStderr: (s: string) => void = () => {}): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((s: string) => void (err += `${s}\n`));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((out += String(c)), true));
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    err += String(c);
    onStderr(String(c));
    return true;
  });
  try {
    return { code: await main(argv), out, err };
  } finally {
    for (const s of [log, error, write, ewrite]) s.mockRestore();
  }
}

describe('tinyllm demo', () => {
  it('stops on Ctrl-C with exit 130 and the demo hint, then --resume runs the whole pipeline and leaves every artefact behind', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-demo-'));
    const args = ['demo', '--out', out, '--steps', '3', '--n-layer', '1', '--n-embd', '32', '--scale', '0.02', '--ft-steps', '2', '--eval-limit', '3'];
    let sent = false;
    const stopped = await cli(args, (s) => {
      if (!sent && s.startsWith('batch ')) {
        sent = true;
        setImmediate(() => process.kill(process.pid, 'SIGINT')); // handled after a step
      }
    });
    expect(stopped.code).toBe(130);
    expect(stopped.out).not.toMatch(/4\/5/);
    expect(stopped.err).toMatch(new RegExp(`tinyllm demo: interrupted: pre-training stopped; .*continue the demo with: tinyllm demo --resume --out ${out} \\(and the same flags\\)\n`));
    expect(stopped.err).not.toMatch(/tinyllm pretrain --resume/);
    expect(readCheckpointHeader(path.join(out, 'model', 'checkpoint.ckpt')).step).toBeLessThan(3);

    const done = await cli([...args, '--resume']);
    expect(done.code).toBe(0);
    expect(done.err).toMatch(/resumed from .* at step [12]/);
    expect(fs.existsSync(path.join(out, 'datasets', 'robot', 'test.jsonl'))).toBe(true);
    const train = readShardHeader(path.join(out, 'data', 'sensing_train_000000.bin'));
    expect(train.magic).toBe(20240520);
    expect(readCheckpointHeader(path.join(out, 'model', 'checkpoint.ckpt')).step).toBe(3);
    expect(fs.readFileSync(path.join(out, 'model', 'loss.svg'), 'utf8')).toMatch(/^<svg|<\?xml/);
    for (const task of ['gesture', 'robot']) {
      expect(readCheckpointHeader(path.join(out, task, 'state.ckpt')).step).toBe(2);
      expect(readTaskInfo(path.join(out, task))?.labels.length).toBeGreaterThan(1);
      const report = JSON.parse(fs.readFileSync(path.join(out, task, 'eval.json'), 'utf8'));
      expect(report.rows).toBe(3);
      expect(report.baselines.length).toBeGreaterThan(1);
    }
    expect(done.out).toMatch(/Results on the held-out test splits/);
    expect(done.out).toMatch(/\ngesture +\d+\.\d % +\d+\.\d % +\d+\.\d % \(.+\) +[\d,]+ /);
    expect(done.out).toMatch(/\nrobot +\d+\.\d % /);
    expect(done.out).toContain(`tinyllm demo --long --out ${out}-long\n`); // its own directory: this run's results stay
    fs.rmSync(out, { recursive: true, force: true });
  });
  it('--long fine-tunes gesture by the longer recipe (prompt loss, shift, no early stop) and robot as without it', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-demo-long-'));
    const r = await cli(['demo', '--out', out, '--steps', '1', '--n-layer', '1', '--n-embd', '32', '--scale', '0.02', '--epochs', '0.5', '--eval-limit', '2', '--long']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/=== 4\/5 fine-tune on the gesture task by the longer recipe/);
    expect(r.out).not.toMatch(/robot task by the longer recipe/);
    const [gesture, robot] = r.err.split('\n').filter((l) => l.includes('batches/epoch')); // each fine-tune's settings line
    expect(gesture).toMatch(/up to 20 prompt tokens per row \| input series shifted by up to ±4 readings/);
    // 12 training rows: 40 epochs of 2 batches, validated every 2 epochs, never stopped early
    expect(gesture).toMatch(/ 80 steps ≈ 40\.0 epochs/);
    expect(r.err).not.toMatch(/early stop/);
    expect(fs.readFileSync(path.join(out, 'gesture', 'metrics.jsonl'), 'utf8')).toMatch(/{"type":"val","step":4,/);
    expect(robot).not.toMatch(/prompt tokens|shifted/);
    expect(robot).toMatch(/ 1 steps ≈ 0\.5 epochs/);
    expect(r.out).not.toMatch(/demo --long/);
    fs.rmSync(out, { recursive: true, force: true });
  });
  it('--embedding-init picks the pre-training init (checked before any work)', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-demo-init-'));
    const args = ['demo', '--out', out, '--steps', '1', '--n-layer', '1', '--n-embd', '32', '--scale', '0.02', '--ft-steps', '1', '--eval-limit', '2'];
    const bad = await cli([...args, '--embedding-init', 'sinusoid']);
    expect(bad.code).not.toBe(0);
    expect(bad.err).toMatch(/unknown --embedding-init 'sinusoid'; choose one of position, number, plain/);
    expect(fs.readdirSync(out)).toEqual([]);
    const number = await cli([...args, '--embedding-init', 'number']);
    expect(number.code).toBe(0);
    const log = number.out + number.err;
    expect(log).toMatch(/number init: the embeddings of \d+ number tokens/);
    expect(log).not.toMatch(/position init/);
    fs.rmSync(out, { recursive: true, force: true });
  });
});
