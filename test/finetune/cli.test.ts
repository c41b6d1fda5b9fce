// `tinyllm finetune` end to end on a tiny model with a small BPE vocabulary trained on the task: the loss falls, the best checkpoint is
// the best validation, --resume continues bit-exactly, Ctrl-C saves and exits 130, an existing run is
// refused, and the run records what eval/generate need (task.json, sequence start).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { run as finetune } from '../../src/cli/commands/finetune.js';
import { loadWeights } from '../../src/export/load.js';
import { loadTokenizer } from '../../src/tokenizer/files.js';
import { Finetuner } from '../../src/finetune/finetuner.js';
import { readTaskInfo } from '../../src/task/info.js';
import { renderPrompt, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { readCheckpointHeader } from '../../src/train/checkpoint.js';
import { MetricsLog } from '../../src/train/metrics.js';
import { Rng } from '../../src/util/rng.js';
import { tmpDir } from '../train/helpers.js';

const root = tmpDir('finetune-cli');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** A small learnable task: is the sum of three digits high or low. */
function writeTask(file: string, n: number, seed: number): void {
  const rng = new Rng(seed);
  const rows = Array.from({ length: n }, () => {
    const d = [rng.int(10), rng.int(10), rng.int(10)];
    return { instruction: 'Sum high?', input: d.join(' '), output: d[0] + d[1] + d[2] >= 14 ? 'high' : 'low' };
  });
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
}

async function quiet<T>(fn: () => Promise<T>): Promise<{ value: T; log: string }> {
  let log = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => {
    log += String(c);
    return true;
  });
  const err = vi.spyOn(console, 'error').mockImplementation((m: string) => {
    log += `${m}\n`;
  });
  try {
    return { value: await fn(), log };
  } finally {
    spy.mockRestore();
    err.mockRestore();
  }
}

const trainLosses = (dir: string) => new MetricsLog(path.join(dir, 'metrics.jsonl')).read().flatMap((r) => (r.type === 'train' ? [r.loss] : []));

describe('tinyllm finetune', () => {
  const train = path.join(root, 'train.jsonl');
  const val = path.join(root, 'val.jsonl');
  writeTask(train, 48, 1);
  writeTask(val, 12, 2);
  const tokenizer = path.join(root, 'tok');
  const base = ['--n-layer', '1', '--n-head', '2', '--n-embd', '32', '--block-size', '64', '--tokenizer', tokenizer, '--train', train, '--val', val, '--batch', '8', '--lr', '1e-2', '--val-every', '3', '--kernels', 'ref', '--threads', '1', '--log-every', '1'];
  beforeAll(async () => {
    const text = path.join(root, 'corpus.txt');
    fs.writeFileSync(text, `${fs.readFileSync(train, 'utf8')}### Instruction: ### Input: ### Response: ### End high low\n`.repeat(3));
    await quiet(async () => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        await main(['train-tokenizer', '--vocab-size', '300', '--out', tokenizer, text]);
      } finally {
        log.mockRestore();
      }
    });
  });

  it('trains with the loss on the answers, keeps the best validation as checkpoint.ckpt and records the task', async () => {
    const out = path.join(root, 'a');
    const { log } = await quiet(() => finetune([...base, '--steps', '12', '--patience', '0', '--out', out]));
    expect(log).toMatch(/48 train \/ 12 val \/ 0 test examples/);
    expect(log).toMatch(/loss on answers \+ end marker/);
    const losses = trainLosses(out);
    expect(losses).toHaveLength(12);
    expect(losses.slice(-3).reduce((a, b) => a + b) / 3).toBeLessThan(losses.slice(0, 3).reduce((a, b) => a + b) / 3 - 1);
    const vals = new MetricsLog(path.join(out, 'metrics.jsonl')).read().flatMap((r) => (r.type === 'val' ? [r] : []));
    expect(vals.map((v) => v.step)).toEqual([3, 6, 9, 12]);
    for (const v of vals) expect(v.valAccuracy).toBeGreaterThanOrEqual(0);
    // the best = highest accuracy, ties broken by lower loss (first best kept)
    let best = vals[0];
    for (const v of vals.slice(1)) if ((v.valAccuracy as number) > (best.valAccuracy as number) || (v.valAccuracy === best.valAccuracy && v.valLoss < best.valLoss)) best = v;
    const header = readCheckpointHeader(path.join(out, 'checkpoint.ckpt'));
    expect(header.step).toBe(best.step);
    expect(header.sequenceStart).toBe('endoftext');
    expect(header.optimizer).toBeUndefined(); // weights only
    const info = readTaskInfo(out);
    // a request without an instruction gets the training rows' (they all have 'Sum high?')
    expect(info).toMatchObject({ tokenizer, sequenceStart: 'endoftext', contextLength: 64, template: TINYLLM_TEMPLATE, requestInstruction: 'Sum high?' });
    expect(info?.labels.slice().sort()).toEqual(['high', 'low']);
    // the fine-tuned model answers through generate with the same prompt layout
    let text = '';
    const w = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      text += String(c);
      return true;
    });
    try {
      await quiet(() => main(['generate', '--ckpt', out, '--prompt', renderPrompt(TINYLLM_TEMPLATE, { instruction: 'Sum high?', input: '9 9 9' }), '--max-tokens', '3', '--temperature', '0', '--kernels', 'ref', '--threads', '1']));
    } finally {
      w.mockRestore();
    }
    expect(text).toContain('### Response:\n');
    // an existing run is refused without --resume/--force
    await expect(quiet(() => finetune([...base, '--steps', '2', '--out', out]))).rejects.toThrow(/already holds results \(checkpoint\.ckpt, state\.ckpt, .*\); tinyllm finetune --out .* --resume to continue it, --force to start over/);
    await quiet(() => finetune([...base, '--steps', '1', '--out', out, '--force']));
    expect(trainLosses(out)).toHaveLength(1);
  });

  it('a numeric task (answers are numbers, as a breathing rate) is validated by its loss, not by ranking its training values, and records no label set', async () => {
    const rows = (n: number, seed: number) => {
      const rng = new Rng(seed);
      return Array.from({ length: n }, () => {
        const d = [rng.int(10), rng.int(10), rng.int(10)];
        return JSON.stringify({ instruction: 'Mean?', input: d.join(' '), output: ((d[0] + d[1] + d[2]) / 3).toFixed(2) });
      }).join('\n') + '\n';
    };
    const numTrain = path.join(root, 'num-train.jsonl');
    const numVal = path.join(root, 'num-val.jsonl');
    fs.writeFileSync(numTrain, rows(7, 3));
    fs.writeFileSync(numVal, rows(2, 4));
    const out = path.join(root, 'numeric');
    const { log } = await quiet(() => finetune([...base, '--train', numTrain, '--val', numVal, '--steps', '2', '--val-every', '1', '--out', out]));
    expect(log).toMatch(/7 train \/ 2 val \/ 0 test examples \| longest \d+ tokens \| numeric answers \(validation by loss only\)/);
    const vals = new MetricsLog(path.join(out, 'metrics.jsonl')).read().flatMap((r) => (r.type === 'val' ? [r] : []));
    expect(vals.map((v) => v.step)).toEqual([1, 2]);
    for (const v of vals) {
      expect(v.valLoss).toBeGreaterThan(0);
      expect(v.valAccuracy).toBeUndefined();
    }
    expect((readTaskInfo(out) as { labels: string[] }).labels).toEqual([]); // no label set for serve's classify form to offer
  });

  it('Ctrl-C saves and exits 130; --resume continues bit-exactly (LoRA, with dropout)', async () => {
    const args = [...base, '--method', 'lora', '--lora-r', '4', '--lora-alpha', '8', '--lora-dropout', '0.1', '--steps', '8', '--patience', '0'];
    const straight = path.join(root, 'straight');
    await quiet(() => finetune([...args, '--out', straight]));
    expect(fs.existsSync(path.join(straight, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(straight, 'adapter', 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 4, lora_alpha: 8, peft_type: 'LORA' });

    const cut = path.join(root, 'cut');
    const real = Finetuner.prototype.trainStep;
    const spy = vi.spyOn(Finetuner.prototype, 'trainStep').mockImplementation(function (this: Finetuner, b) {
      const st = real.call(this, b);
      if (st.step === 3) process.kill(process.pid, 'SIGINT');
      return st;
    });
    let code: number;
    try {
      ({ value: code } = await quiet(() => main(['finetune', ...args, '--out', cut])));
    } finally {
      spy.mockRestore();
    }
    expect(code).toBe(130);
    expect(readCheckpointHeader(path.join(cut, 'state.ckpt')).step).toBe(3);
    expect(process.listenerCount('SIGINT')).toBe(0);
    await expect(quiet(() => finetune(['--out', cut, '--resume', '--lr', '1']))).rejects.toThrow(/drop --lr/);
    const { log } = await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(log).toMatch(/resumed from .* at step 3/);
    expect(trainLosses(cut)).toEqual(trainLosses(straight));
    expect(fs.readFileSync(path.join(cut, 'checkpoint.ckpt')).equals(fs.readFileSync(path.join(straight, 'checkpoint.ckpt')))).toBe(true);
  });

  /** Runs a 6-step fine-tune with `extra` flags over `args`, recording every batch trainStep sees. */
  const seen = (extra: string[], args = base) => {
    const batches: { inputs: Int32Array; B: number; T: number; count: number }[] = [];
    const real = Finetuner.prototype.trainStep;
    const spy = vi.spyOn(Finetuner.prototype, 'trainStep').mockImplementation(function (this: Finetuner, b) {
      for (const x of Array.isArray(b) ? b : [b]) batches.push({ inputs: x.inputs.slice(0, x.B * x.T), B: x.B, T: x.T, count: x.count });
      return real.call(this, b);
    });
    return { batches, run: (out: string) => quiet(() => finetune([...args, '--steps', '6', '--patience', '0', ...extra, '--out', out])).finally(() => spy.mockRestore()) };
  };

  /** A 6-step run with `extra` stopped at step 3 and resumed equals the straight run in `straight` (losses and state bytes). */
  async function expectResumeBitExact(extra: string[], straight: string): Promise<void> {
    const cut = path.join(root, `${straight}-cut`);
    await quiet(() => finetune([...base, '--steps', '6', '--patience', '0', ...extra, '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(path.join(root, straight)));
    expect(fs.readFileSync(path.join(cut, 'state.ckpt')).equals(fs.readFileSync(path.join(root, straight, 'state.ckpt')))).toBe(true);
  }

  it('--jitter: every drawn row\'s input numbers move by at most K units, batch shapes stay, --stop-at/--resume bit-exact', async () => {
    const plain = seen([]);
    await plain.run(path.join(root, 'j0'));
    const jit = seen(['--jitter', '1']);
    expect((await jit.run(path.join(root, 'j1'))).log).toMatch(/input numbers jittered by up to ±1 in their last digit/);
    const tok = loadTokenizer(tokenizer);
    let moved = 0;
    jit.batches.forEach((b, i) => {
      const p = plain.batches[i];
      expect([b.B, b.T]).toEqual([p.B, p.T]);
      for (let r = 0; r < b.B; r++) {
        const digits = (x: Int32Array) => (tok.decode(Array.from(x.subarray(r * b.T, (r + 1) * b.T))).match(/Input:\n([\d ]+)/) as RegExpMatchArray)[1].split(' ').map(Number);
        const [a, c] = [digits(p.inputs), digits(b.inputs)];
        expect(c.length).toBe(a.length);
        a.forEach((x, j) => expect(Math.abs(c[j] - x)).toBeLessThanOrEqual(1));
        moved += a.filter((x, j) => c[j] !== x).length;
      }
    });
    expect(moved).toBeGreaterThan(0);
    expect(trainLosses(path.join(root, 'j1'))).not.toEqual(trainLosses(path.join(root, 'j0')));
    await expectResumeBitExact(['--jitter', '1'], 'j1');
    await expect(finetune([...base, '--jitter', '-1', '--out', path.join(root, 'jx')])).rejects.toThrow(/--jitter/);
  });

  it('--prompt-loss / --prompt-loss-tokens: a share or a number of each prompt\'s tokens also carries a loss, between the answer alone and --train-on-all; --stop-at/--resume bit-exact', async () => {
    const runs = [];
    for (const [i, extra] of [[], ['--prompt-loss', '0.5'], ['--train-on-all']].entries()) {
      const r = seen(extra);
      runs.push({ ...r, log: (await r.run(path.join(root, `pl${i}`))).log });
    }
    const [answer, half, all] = runs;
    expect(half.log).toMatch(/loss on answers \+ end marker \+ 50% of the prompt tokens/);
    half.batches.forEach((b, i) => {
      expect(b.inputs).toEqual(answer.batches[i].inputs); // the same rows: only the targets differ
      expect(b.count).toBeGreaterThan(answer.batches[i].count);
      expect(b.count).toBeLessThan(all.batches[i].count);
      // about half of the prompt positions (round(share × prompt) per row)
      expect(Math.abs(b.count - (answer.batches[i].count + all.batches[i].count) / 2)).toBeLessThanOrEqual(b.B);
    });
    expect(trainLosses(path.join(root, 'pl1'))).not.toEqual(trainLosses(path.join(root, 'pl0')));
    await expectResumeBitExact(['--prompt-loss', '0.5'], 'pl1');
    await expect(finetune([...base, '--prompt-loss', '0.5', '--train-on-all', '--out', path.join(root, 'plx')])).rejects.toThrow(/give one of the two/);
    await expect(finetune([...base, '--prompt-loss', '1.5', '--out', path.join(root, 'plx')])).rejects.toThrow(/--prompt-loss/);
    // --prompt-loss-tokens: the same number of prompt tokens in every row
    const some = seen(['--prompt-loss-tokens', '3']);
    expect((await some.run(path.join(root, 'pt3'))).log).toMatch(/loss on answers \+ end marker \+ up to 3 prompt tokens per row/);
    some.batches.forEach((b, i) => expect(b.count).toBe(answer.batches[i].count + 3 * b.B));
    await expectResumeBitExact(['--prompt-loss-tokens', '3'], 'pt3');
    for (const other of [['--prompt-loss', '0.5'], ['--train-on-all']]) {
      await expect(finetune([...base, '--prompt-loss-tokens', '3', ...other, '--out', path.join(root, 'plx')])).rejects.toThrow(/give one of the two/);
    }
  });

  /** The base arguments with training rows of one 16-digit series each (a channel over 16 readings). */
  function seriesArgs(): string[] {
    const series = path.join(root, 'series.jsonl');
    const rng = new Rng(5);
    const rows = Array.from({ length: 24 }, () => Array.from({ length: 16 }, () => rng.int(10)));
    fs.writeFileSync(series, rows.map((d) => JSON.stringify({ instruction: 'Sum high?', input: d.join(' '), output: d.reduce((a, b) => a + b) >= 72 ? 'high' : 'low' })).join('\n') + '\n');
    return [...base.slice(0, base.indexOf('--train')), '--train', series, '--val', val, ...base.slice(base.indexOf('--batch'))];
  }
  /** The series of row r of a batch, decoded. */
  const readings = (tok: ReturnType<typeof loadTokenizer>, x: Int32Array, r: number, T: number) => (tok.decode(Array.from(x.subarray(r * T, (r + 1) * T))).match(/Input:\n([\d ]+)/) as RegExpMatchArray)[1].trim().split(' ');

  it('--shift: every drawn row\'s series moves by one d in −K..K readings with the edge repeated, --stop-at/--resume bit-exact', async () => {
    const args = seriesArgs();
    const plain = seen([], args);
    await plain.run(path.join(root, 's0'));
    const shifted = seen(['--shift', '3'], args);
    expect((await shifted.run(path.join(root, 's3'))).log).toMatch(/input series shifted by up to ±3 readings/);
    const tok = loadTokenizer(tokenizer);
    const offsets = new Set<number>();
    shifted.batches.forEach((b, i) => {
      const p = plain.batches[i];
      for (let r = 0; r < b.B; r++) {
        const [a, c] = [readings(tok, p.inputs, r, b.T), readings(tok, b.inputs, r, b.T)];
        const ds = [-3, -2, -1, 0, 1, 2, 3].filter((d) => a.every((_, j) => c[j] === a[Math.min(a.length - 1, Math.max(0, j - d))]));
        expect(ds.length).toBeGreaterThan(0);
        if (!ds.includes(0)) offsets.add(ds[0]);
      }
    });
    expect(offsets.size).toBeGreaterThan(2);
    const cut = path.join(root, 's3-cut');
    await quiet(() => finetune([...args, '--steps', '6', '--patience', '0', '--shift', '3', '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(path.join(root, 's3')));
    expect(fs.readFileSync(path.join(cut, 'state.ckpt')).equals(fs.readFileSync(path.join(root, 's3', 'state.ckpt')))).toBe(true);
  });

  it('--gain: every drawn row\'s series has its deviations from its median scaled by one factor in [1/G, G], --stop-at/--resume bit-exact', async () => {
    const args = seriesArgs();
    const plain = seen([], args);
    await plain.run(path.join(root, 'g0'));
    const scaled = seen(['--gain', '2'], args);
    expect((await scaled.run(path.join(root, 'g2'))).log).toMatch(/input series scaled about their median by ×1\/2\.\.×2/);
    const tok = loadTokenizer(tokenizer);
    let [rows, changed] = [0, 0];
    scaled.batches.forEach((b, i) => {
      const p = plain.batches[i];
      for (let r = 0; r < b.B; r++) {
        const [a, c] = [readings(tok, p.inputs, r, p.T).map(Number), readings(tok, b.inputs, r, b.T).map(Number)];
        expect(c).toHaveLength(a.length);
        const m = [...a].sort((x, y) => x - y)[a.length >> 1];
        // some factor g in [1/2, 2] gives every reading, rounded and never below zero
        const fits = (g: number) => a.every((x, j) => c[j] === Math.max(0, Math.round(m + (x - m) * g)));
        const g = Array.from({ length: 601 }, (_, k) => Math.pow(2, k / 300 - 1)).find(fits);
        expect(g, `row ${r} of batch ${i}: ${a.join(' ')} → ${c.join(' ')}`).toBeDefined();
        rows++;
        if (c.some((x, j) => x !== a[j])) changed++;
      }
    });
    // this tokenizer spends more tokens on numbers above 9, so a row scaled up is mostly refused (it would outgrow the planned length)
    expect(changed).toBeGreaterThan(rows / 4);
    const cut = path.join(root, 'g2-cut');
    await quiet(() => finetune([...args, '--steps', '6', '--patience', '0', '--gain', '2', '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(path.join(root, 'g2')));
    expect(fs.readFileSync(path.join(cut, 'state.ckpt')).equals(fs.readFileSync(path.join(root, 'g2', 'state.ckpt')))).toBe(true);
    await expect(quiet(() => finetune([...base, '--gain', '2', '--out', path.join(root, 'gw')]))).rejects.toThrow(/^--gain 2: no training row of .*train\.jsonl has a series to change .*leave it out/);
  });

  it('--rescale: recorded in the template, every drawn row\'s series written 0..99 of its range, eval reads the run\'s template (its baselines see the rescaled numbers); refused without a series', async () => {
    // one dip or two at fixed places: training windows at levels 100-200, test windows ten times higher and deeper
    const dips = (two: boolean, level: number, depth: number, rng: Rng) =>
      Array.from({ length: 16 }, (_, i) => Math.round(level - depth * Number(two ? i === 3 || i === 4 || i === 11 || i === 12 : i >= 6 && i <= 9) + rng.int(3)));
    const shapes = (file: string, n: number, scale: number, seed: number) => {
      const rng = new Rng(seed);
      const rows = Array.from({ length: n }, (_, k) => {
        const two = k % 2 === 1;
        return JSON.stringify({ instruction: 'Dips?', input: dips(two, scale * (100 + rng.int(100)), scale * (40 + rng.int(20)), rng).join(' '), output: two ? 'low' : 'high' });
      });
      fs.writeFileSync(file, rows.join('\n') + '\n');
    };
    const [shapeTrain, shapeTest] = [path.join(root, 'dips.jsonl'), path.join(root, 'dips-test.jsonl')];
    shapes(shapeTrain, 24, 1, 7);
    shapes(shapeTest, 12, 10, 8);
    const args = [...base.slice(0, base.indexOf('--train')), '--train', shapeTrain, '--val', val, ...base.slice(base.indexOf('--batch')), '--block-size', '160'];
    const out = path.join(root, 'rescaled');
    const r = seen(['--rescale', '--jitter', '2'], args);
    expect((await r.run(out)).log).toMatch(/input series written 0\.\.99 of their range/);
    expect(readTaskInfo(out)?.template.series).toBe('rescale');
    const tok = loadTokenizer(tokenizer);
    let rows = 0;
    for (const b of r.batches) {
      for (let i = 0; i < b.B; i++) {
        const m = tok.decode(Array.from(b.inputs.subarray(i * b.T, (i + 1) * b.T))).match(/Input:\n([\d ]+)\n/);
        if (!m) continue; // a validation row (three digits, no series)
        const x = m[1].trim().split(' ').map(Number);
        expect(x).toHaveLength(16);
        expect(Math.min(...x)).toBe(0);
        expect(Math.max(...x)).toBe(99);
        rows++;
      }
    }
    expect(rows).toBeGreaterThan(24);
    // eval builds its prompts with the run's template, and its baselines read the numbers as the prompt writes them
    const evalOut = async (extra: string[]) => {
      let text = '';
      const log = vi.spyOn(console, 'log').mockImplementation((m: string) => {
        text += `${m}\n`;
      });
      try {
        await quiet(() => main(['eval', '--ckpt', out, '--train', shapeTrain, '--test', shapeTest, '--method', 'rank', '--kernels', 'ref', '--threads', '1', ...extra]));
      } finally {
        log.mockRestore();
      }
      return text;
    };
    const rescaled = await evalOut([]);
    expect(rescaled).toMatch(/baselines: nearest centroid and k-NN over the 16 numbers of each row's input as the prompt writes it \(series rescaled to 0\.\.99\)/);
    expect(rescaled).toMatch(/baseline: 5-NN\s+100\.00 %/);
    const raw = await evalOut(['--template', 'tinyllm']);
    expect(raw).not.toMatch(/as the prompt writes it/);
    expect(raw).not.toMatch(/baseline: 5-NN\s+100\.00 %/);
    // rows of three digits hold no series: the flag would change nothing
    await expect(quiet(() => finetune([...base, '--rescale', '--out', path.join(root, 'rw')]))).rejects.toThrow(/^--rescale: no training row of .*train\.jsonl has a series to change .*leave it out/);
  });

  it('--dropout: named in the summary, changes training, --stop-at/--resume bit-exact; refused with zo', async () => {
    const args = [...base, '--steps', '6', '--patience', '0', '--dropout', '0.2'];
    const straight = path.join(root, 'd-straight');
    expect((await quiet(() => finetune([...args, '--out', straight]))).log).toMatch(/\| dropout 0\.2 \|/);
    await quiet(() => finetune([...base, '--steps', '6', '--patience', '0', '--out', path.join(root, 'd-none')]));
    expect(trainLosses(straight)).not.toEqual(trainLosses(path.join(root, 'd-none')));
    const cut = path.join(root, 'd-cut');
    await quiet(() => finetune([...args, '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(straight));
    expect(fs.readFileSync(path.join(cut, 'state.ckpt')).equals(fs.readFileSync(path.join(straight, 'state.ckpt')))).toBe(true);
    await expect(finetune([...base, '--method', 'zo', '--dropout', '0.1', '--out', path.join(root, 'dz')])).rejects.toThrow(/--dropout needs backpropagation/);
  });

  it('--method zo --zo-lora: forward-only steps, --stop-at/--resume bit-exact, PEFT adapter and merged model written', async () => {
    const args = [...base, '--method', 'zo', '--zo-lora', '--zo-eps', '1e-3', '--zo-n', '2', '--lora-r', '2', '--lora-alpha', '4', '--lr', '1e-2', '--steps', '6', '--patience', '0', '--merge'];
    const straight = path.join(root, 'zo-straight');
    const { log } = await quiet(() => finetune([...args, '--out', straight]));
    expect(log).toMatch(/zo ε=0\.001 n=2 over lora r=2 α=4 dropout=0 on attn\.c_attn,attn\.c_proj,mlp\.c_fc,mlp\.c_proj fine-tuning/);
    expect(log).toMatch(/merged the LoRA adapter/);
    expect(fs.existsSync(path.join(straight, 'adapter', 'adapter_model.safetensors'))).toBe(true);
    expect(readCheckpointHeader(path.join(straight, 'checkpoint.ckpt')).finetune).toBeUndefined(); // merged: plain weights
    const cut = path.join(root, 'zo-cut');
    await quiet(() => finetune([...args, '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(straight));
    expect(fs.readFileSync(path.join(cut, 'checkpoint.ckpt')).equals(fs.readFileSync(path.join(straight, 'checkpoint.ckpt')))).toBe(true);
    await expect(finetune([...base, '--method', 'lora', '--zo-lora', '--out', path.join(root, 'w')])).rejects.toThrow(/--zo-lora applies to --method zo only/);
  });

  it('LoRA over an int8 .tllm base: the base file is untouched, --stop-at/--resume bit-exact, tinyllm merge equals the run\'s merged model', async () => {
    const src = path.join(root, 'q-src');
    await quiet(() => finetune([...base, '--steps', '2', '--patience', '0', '--out', src]));
    const tllm = path.join(root, 'base.tllm');
    const log0 = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await main(['export', src, '--int8', '--group', '32', '-o', tllm])).toBe(0);
    } finally {
      log0.mockRestore();
    }
    const before = fs.readFileSync(tllm);
    const args = ['--from', tllm, '--tokenizer', tokenizer, '--train', train, '--val', val, '--batch', '8', '--val-every', '3', '--kernels', 'ref', '--threads', '1', '--method', 'lora', '--lora-r', '2', '--lora-alpha', '4', '--lr', '1e-2', '--steps', '6', '--patience', '0'];
    const straight = path.join(root, 'q-straight');
    const { log } = await quiet(() => finetune([...args, '--out', straight]));
    expect(log).toMatch(/frozen int8 base [\d.]+ MiB \| lora r=2/);
    expect(fs.readFileSync(tllm).equals(before)).toBe(true);
    const cut = path.join(root, 'q-cut');
    await quiet(() => finetune([...args, '--stop-at', '3', '--out', cut]));
    await quiet(() => finetune(['--out', cut, '--resume', '--kernels', 'ref', '--threads', '1']));
    expect(trainLosses(cut)).toEqual(trainLosses(straight));
    expect(fs.readFileSync(path.join(cut, 'adapter', 'adapter_model.safetensors')).equals(fs.readFileSync(path.join(straight, 'adapter', 'adapter_model.safetensors')))).toBe(true);
    // tinyllm merge over the .tllm (dequantized) gives the run's best model (base dequantized + adapter)
    const merged = path.join(root, 'q-merged');
    const log1 = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      await main(['merge', '--base', tllm, '--adapter', path.join(straight, 'adapter'), '-o', merged]);
    } finally {
      log1.mockRestore();
    }
    const a = loadWeights(merged).flat;
    const b = loadWeights(straight).flat;
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    expect(worst).toBeLessThan(1e-6);
    await expect(finetune([...args, '--method', 'full', '--out', path.join(root, 'q-full')])).rejects.toThrow(/int8 base .* is frozen: use --method lora/);
  });

  it('--number-init: a model trained from scratch starts with its number tokens placed by value (lr 0 keeps the init)', async () => {
    const args = [...base, '--steps', '1', '--lr', '0', '--val-every', '0', '--patience', '0'];
    const plain = path.join(root, 'n-plain');
    const num = path.join(root, 'n-num');
    await quiet(() => finetune([...args, '--out', plain]));
    const { log } = await quiet(() => finetune([...args, '--out', num, '--number-init']));
    expect(log).toMatch(/number init: the embeddings of \d+ number tokens start placed by their value/);
    const [a, b] = [loadWeights(plain), loadWeights(num)];
    const tok = loadTokenizer(tokenizer);
    const row = (w: Float32Array, id: number) => Array.from(w.subarray(id * 32, (id + 1) * 32));
    const [seven, letter] = [tok.encode('7')[0], tok.encode('x')[0]];
    expect(row(b.flat, seven)).not.toEqual(row(a.flat, seven));
    expect(row(b.flat, letter)).toEqual(row(a.flat, letter));
    const fromArgs = ['--from', plain, '--train', train, '--steps', '1', '--kernels', 'ref', '--threads', '1', '--out', path.join(root, 'n-from'), '--number-init'];
    await expect(quiet(() => finetune(fromArgs))).rejects.toThrow(/--number-init sets up a random init .* not for --from/);
    expect(fs.existsSync(path.join(root, 'n-from'))).toBe(false); // refused before anything was written
    await expect(finetune(['--out', num, '--resume', '--number-init'])).rejects.toThrow(/--number-init sets up a fresh init.*drop it/);
  });

  it('--position-init: a model trained from scratch starts with sinusoidal position embeddings (lr 0 keeps the init)', async () => {
    const args = [...base, '--steps', '1', '--lr', '0', '--val-every', '0', '--patience', '0'];
    const plain = path.join(root, 'p-plain');
    const pos = path.join(root, 'p-pos');
    await quiet(() => finetune([...args, '--out', plain]));
    const { log } = await quiet(() => finetune([...args, '--out', pos, '--position-init', '--number-init']));
    expect(log).toMatch(/position init: the position embeddings start as sinusoids/);
    const [a, b] = [loadWeights(plain), loadWeights(pos)];
    const [V, C] = [a.config.vocabSize, 32];
    const wpe = (w: Float32Array) => w.subarray(V * C, (V + a.config.blockSize) * C);
    expect(wpe(b.flat)[1]).toBeCloseTo(0.02 * Math.SQRT2 + 0.2 * wpe(a.flat)[1], 6); // cos(0) = 1 in column 1
    expect(b.flat.subarray((V + a.config.blockSize) * C)).toEqual(a.flat.subarray((V + a.config.blockSize) * C)); // the blocks
    const fromArgs = ['--from', plain, '--train', train, '--steps', '1', '--kernels', 'ref', '--threads', '1', '--out', path.join(root, 'p-from'), '--position-init'];
    await expect(quiet(() => finetune(fromArgs))).rejects.toThrow(/--position-init sets up a random init .* not for --from/);
    await expect(quiet(() => finetune([...fromArgs, '--number-init']))).rejects.toThrow(/--number-init and --position-init set up a random init .* not for --from/);
    await expect(finetune(['--out', pos, '--resume', '--position-init'])).rejects.toThrow(/--position-init sets up a fresh init.*drop it/);
  });

  it('refuses bad input with messages that say what to do', async () => {
    await expect(finetune(['--train', train, '--out', path.join(root, 'x')])).rejects.toThrow(/--from .* or a size to train from scratch/);
    await expect(finetune([...base, '--method', 'lora', '--train-top', '1', '--out', path.join(root, 'y')])).rejects.toThrow(/do not combine with --method lora/);
    const noAnswer = path.join(root, 'bad.csv');
    fs.writeFileSync(noAnswer, 'input,output\n1 2 3,low\n4 5 6,\n');
    await expect(quiet(() => finetune([...base, '--train', noAnswer, '--out', path.join(root, 'z')]))).rejects.toThrow(/bad\.csv: row 2 \(line 3\), column 'output': no answer/);
    // rows of three digits hold no series: --shift would train without the augmentation it names
    await expect(quiet(() => finetune([...base, '--shift', '2', '--out', path.join(root, 'w')]))).rejects.toThrow(/^--shift 2: no training row of .*train\.jsonl has a series to change .*leave it out/);
    expect(fs.existsSync(path.join(root, 'w', 'state.ckpt'))).toBe(false);
  });
});
