// `tinyllm pretrain` and `tinyllm generate` end to end on a tiny GPT-2-vocabulary model with ref kernels:
// flags, run directory, resume checks, streamed output and errors that say what to do.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { run as generate } from '../../src/cli/commands/generate.js';
import { run as pretrain } from '../../src/cli/commands/pretrain.js';
import { ShardFileWriter } from '../../src/data/shard.js';
import { writeLlmcCheckpoint } from '../../src/export/llmc.js';
import { saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { loadWeights } from '../../src/export/load.js';
import { paramsFromFlat } from '../../src/export/params.js';
import { ref } from '../../src/kernels/index.js';
import { plainF32 } from '../../src/models/gpt2/params.js';
import { loadCheckpointWeights } from '../../src/train/checkpoint.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { UserError } from '../../src/util/errors.js';
import { tmpDir } from './helpers.js';

const root = tmpDir('cli');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function captured(stream: NodeJS.WriteStream, fn: () => Promise<void>): Promise<string> {
  let out = '';
  const spy = vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  return fn().then(
    () => {
      spy.mockRestore();
      return out;
    },
    (e) => {
      spy.mockRestore();
      throw e;
    },
  );
}

describe('tinyllm pretrain / generate', () => {
  const tok = gpt2();
  const data = path.join(root, 'data');
  fs.mkdirSync(data);
  const text = 'ax=0.12 ay=0.40 az=9.81 gesture tap\n'.repeat(60);
  for (const split of ['train', 'val']) {
    const w = new ShardFileWriter(path.join(data, `s_${split}_000000.bin`));
    w.write([tok.eotToken, ...tok.encode(text)]);
    w.close();
  }
  const out = path.join(root, 'run');
  const base = ['--data', data, '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch', '2', '--seq', '8', '--kernels', 'ref', '--threads', '1', '--out', out];

  it('trains, checkpoints, resumes and generates', async () => {
    const log = await captured(process.stderr, () =>
      pretrain([...base, '--steps', '4', '--stop-at', '2', '--val-every', '2', '--val-batches', '1', '--sample-every', '2', '--sample-tokens', '4', '--log-every', '1']),
    );
    expect(log).toMatch(/model custom L1 H2 C16: [\d,]+ parameters/);
    expect(log).toMatch(/unigram baseline/);
    expect(log).toMatch(/step 2\/4 \| loss \d/);
    expect(log).toMatch(/continue with --resume/);
    for (const f of ['config.json', 'checkpoint.ckpt', 'metrics.jsonl', 'loss.svg', 'samples.txt']) expect(fs.existsSync(path.join(out, f)), f).toBe(true);

    await expect(pretrain(['--resume', out, '--batch', '3'])).rejects.toThrow(/--batch 2, but --batch 3.*drop --batch/);
    await expect(pretrain(['--resume', out, '--n-layer', '2', '--n-head', '2', '--n-embd', '16'])).rejects.toThrow(/nLayer=1 vs 2/);
    const log2 = await captured(process.stderr, () => pretrain(['--resume', out, '--kernels', 'ref', '--threads', '1']));
    expect(log2).toMatch(/resumed from .* at step 2/);
    expect(log2).toMatch(/step 4\/4/);
    expect(await captured(process.stderr, () => pretrain(['--resume', out]))).toMatch(/nothing to do: .* already at step 4 of 4/);

    let stdout = '';
    const stderr = await captured(process.stderr, async () => {
      stdout = await captured(process.stdout, () => generate(['--ckpt', out, '--prompt', 'ax=', '--max-tokens', '5', '--kernels', 'ref', '--threads', '1', '--seed', '2']));
    });
    expect(stdout.startsWith('ax=')).toBe(true);
    expect(stderr).toMatch(/\d+ tokens in .* tok\/s; stopped: (max-tokens|stop-token)/);

    // other formats come in through src/export: the same weights as an llm.c file generate the same text
    const { model } = loadCheckpointWeights(path.join(out, 'checkpoint.ckpt'), { kernels: ref, alloc: plainF32 });
    const bin = path.join(root, 'model.bin');
    writeLlmcCheckpoint(bin, model.config, paramsFromFlat(model.config, model.params.data as Float32Array), { dtype: 'f32' });
    let fromBin = '';
    await captured(process.stderr, async () => {
      fromBin = await captured(process.stdout, () => generate(['--ckpt', bin, '--prompt', 'ax=', '--max-tokens', '5', '--kernels', 'ref', '--threads', '1', '--seed', '2']));
    });
    expect(fromBin).toBe(stdout);
  });

  it('--dropout: named in the summary, changes training, and a run cut and resumed ends with the same weights', async () => {
    const args = (dir: string, extra: string[]) => [...base.slice(0, -1), path.join(root, dir), '--steps', '4', '--val-every', '0', '--sample-every', '0', ...extra];
    const weights = (dir: string) => Buffer.from(loadCheckpointWeights(path.join(root, dir, 'checkpoint.ckpt'), { kernels: ref, alloc: plainF32 }).model.params.data.buffer);
    expect(await captured(process.stderr, () => pretrain(args('drop', ['--dropout', '0.3'])))).toMatch(/\| dropout 0\.3 \|/);
    await captured(process.stderr, () => pretrain(args('nodrop', [])));
    expect(weights('drop').equals(weights('nodrop'))).toBe(false);
    await captured(process.stderr, () => pretrain(args('drop-cut', ['--dropout', '0.3', '--stop-at', '2'])));
    await captured(process.stderr, () => pretrain(['--resume', path.join(root, 'drop-cut'), '--kernels', 'ref', '--threads', '1']));
    expect(weights('drop-cut').equals(weights('drop'))).toBe(true);
  });

  it('bad flags give UserErrors that say how to fix them', async () => {
    await expect(pretrain(['--n-layer', '2'])).rejects.toThrow(UserError);
    await expect(pretrain(['--model', '7M', '--data', data])).rejects.toThrow(/unknown --model '7M'.*30M/);
    await expect(pretrain([...base, '--force', '--total-batch', '20'])).rejects.toThrow(/multiple of --batch × --seq = 16/);
    await expect(pretrain([...base, '--force', '--seq', '32'])).rejects.toThrow(/exceeds the block size 16/);
    await expect(pretrain(['--n-layer', '1', '--n-head', '3', '--n-embd', '16', '--data', data])).rejects.toThrow(/multiple of --n-head/);
    await expect(generate([])).rejects.toThrow(/give either -m <model.tllm> .* or --ckpt/);
    await expect(generate(['--ckpt', out, '--top-p', '2'])).rejects.toThrow(/--top-p must be a number from 0 to 1, got 2/);
    const help = await captured(process.stdout, async () => {
      const orig = console.log;
      console.log = (s: string) => process.stdout.write(`${s}\n`);
      try {
        await pretrain(['--help']);
      } finally {
        console.log = orig;
      }
    });
    expect(help).toMatch(/--total-batch/);
  });

  it('--init starts a run from exported weights (Hugging Face here), with the size taken from the file', async () => {
    // a model trained above, exported to HF, then trained on with lr 0: the weights must come through unchanged
    const hf = path.join(root, 'hf');
    const trained = loadWeights(out);
    saveHFGPT2(hf, trained.config, paramsFromFlat(trained.config, trained.flat));
    const next = path.join(root, 'from-hf');
    const common = ['--data', data, '--batch', '2', '--seq', '8', '--steps', '1', '--lr', '0', '--val-every', '0', '--sample-every', '0', '--kernels', 'ref', '--threads', '1', '--out', next];
    const log = await captured(process.stderr, () => pretrain([...common, '--init', hf]));
    expect(log).toMatch(/model hf-L1-H2-C16: /);
    expect(loadWeights(next).flat).toEqual(trained.flat);
    await expect(captured(process.stderr, () => pretrain([...common, '--init', hf, '--n-layer', '2']))).rejects.toThrow(/--init takes the model size from .*drop --n-layer/);
    await expect(captured(process.stderr, () => pretrain([...common, '--init', hf, '--resume', next]))).rejects.toThrow(/give one of them/);
  });

  /** One step at lr 0 of a tiny model into `out`: its checkpoint holds the init. */
  const initRun = (out: string, ...flags: string[]) =>
    captured(process.stderr, () => pretrain(['--data', data, '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch', '2', '--seq', '8', '--steps', '1', '--lr', '0', '--val-every', '0', '--sample-every', '0', '--kernels', 'ref', '--threads', '1', '--out', out, ...flags]));

  it('--number-init: number tokens start placed by value (lr 0 keeps the init), the rest as the plain init; fresh runs only', async () => {
    const plain = path.join(root, 'plain');
    const num = path.join(root, 'num');
    await initRun(plain);
    const log = await initRun(num, '--number-init');
    expect(log).toMatch(/number init: the embeddings of \d{4} number tokens start placed by their value/);
    const [a, b] = [loadWeights(plain), loadWeights(num)];
    const C = 16;
    const row = (w: Float32Array, id: number) => Array.from(w.subarray(id * C, (id + 1) * C));
    const [n139, x] = [tok.encode(' 139')[0], tok.encode(' x')[0]];
    expect(row(b.flat, x)).toEqual(row(a.flat, x));
    expect(row(b.flat, n139)).not.toEqual(row(a.flat, n139));
    expect(b.flat.subarray(b.config.vocabSize * C)).toEqual(a.flat.subarray(a.config.vocabSize * C)); // wpe and the blocks
    await expect(pretrain(['--resume', num, '--number-init'])).rejects.toThrow(/--number-init sets up a fresh init.*drop it/);
    await expect(captured(process.stderr, () => pretrain(['--data', data, '--out', path.join(root, 'n2'), '--number-init', '--init', plain]))).rejects.toThrow(/does not go with --init/);
  });

  it('--position-init: the position embeddings start as sinusoids (lr 0 keeps the init), the rest as the plain init; fresh runs only', async () => {
    const plain = path.join(root, 'p-plain');
    const pos = path.join(root, 'p-pos');
    await initRun(plain);
    const log = await initRun(pos, '--position-init');
    expect(log).toMatch(/position init: the position embeddings start as sinusoids/);
    const [a, b] = [loadWeights(plain), loadWeights(pos)];
    const [V, C, T] = [a.config.vocabSize, 16, 16];
    const wpe = (w: Float32Array) => w.subarray(V * C, (V + T) * C);
    // row 0 is sin(0) = 0, cos(0) = 1 pairs: 0.02·√2 on the odd columns, plus a fifth of the random init
    for (let c = 0; c < C; c++) expect(wpe(b.flat)[c]).toBeCloseTo((c % 2 ? 0.02 * Math.SQRT2 : 0) + 0.2 * wpe(a.flat)[c], 6);
    expect(b.flat.subarray(0, V * C)).toEqual(a.flat.subarray(0, V * C)); // wte
    expect(b.flat.subarray((V + T) * C)).toEqual(a.flat.subarray((V + T) * C)); // the blocks
    await expect(pretrain(['--resume', pos, '--position-init'])).rejects.toThrow(/--position-init sets up a fresh init.*drop it/);
    await expect(captured(process.stderr, () => pretrain(['--data', data, '--out', path.join(root, 'p2'), '--position-init', '--init', plain]))).rejects.toThrow(/--position-init sets up a random init: it does not go with --init/);
  });
});
