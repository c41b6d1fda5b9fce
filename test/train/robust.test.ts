// `tinyllm pretrain` never loses a run: an --out holding a run is refused without --resume/--force, a start
// that fails writes nothing, a failed save keeps the last checkpoint and rescues the weights, a killed save's
// temp file is cleaned, --resume works from another folder, Ctrl-C exits 130, and a model that cannot fit is
// refused before training with the figures. Tiny models, ref kernels.
import * as fs from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { run as pretrain } from '../../src/cli/commands/pretrain.js';
import { readCheckpointHeader, rescuePath } from '../../src/train/checkpoint.js';
import { tmpDir, writeToyShards } from './helpers.js';

const root = tmpDir('robust');
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/** Runs fn with stderr (and console.error) captured; returns what was written. */
async function quietly(fn: () => Promise<unknown>): Promise<string> {
  let out = '';
  const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  const err = vi.spyOn(console, 'error').mockImplementation((s: string) => {
    out += `${s}\n`;
  });
  try {
    await fn();
  } finally {
    write.mockRestore();
    err.mockRestore();
  }
  return out;
}

const data = writeToyShards(path.join(root, 'data'), 50, 600, 200);
const tiny = ['--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--vocab-size', '50', '--batch', '2', '--seq', '8', '--val-every', '0', '--sample-every', '0', '--tokenizer', 'none', '--kernels', 'ref', '--threads', '1'];
const snapshot = (dir: string) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));

describe('pretrain keeps runs', () => {
  it('refuses an --out that holds a run without --resume or --force, and a start that fails writes nothing', async () => {
    const out = path.join(root, 'guarded');
    const args = ['--data', data, ...tiny, '--steps', '2', '--out', out];
    await quietly(() => pretrain(args));
    const before = snapshot(out);
    await expect(pretrain(args)).rejects.toThrow(/already holds results \(checkpoint\.ckpt, config\.json, metrics\.jsonl\); --resume .*guarded to continue it, --force to start over/);
    // --force passes the guard, but this start fails (it cannot fit in memory): the old run is untouched
    await expect(quietly(() => pretrain([...args, '--force', '--batch', '1000000']))).rejects.toThrow(/needs [\d,]+ MiB of WebAssembly memory .* limit of [\d,]+ MiB .*lower --batch \(-b \d+ fits\)/);
    expect(snapshot(out)).toEqual(before);
    // the CLI prints it on one line and exits 1
    const log = await quietly(async () => expect(await main(['pretrain', ...args])).toBe(1));
    expect(log.trim().split('\n')).toHaveLength(1);
    expect(log).toMatch(/^tinyllm pretrain: --out .*guarded already holds/);
  });

  it("refuses GPT-2 124M at -b 16 -t 1024 before training: the memory it needs, the limit and the flag that lowers it", async () => {
    const out = path.join(root, 'big');
    const err = quietly(() => pretrain(['--model', '124M', '-b', '16', '-t', '1024', '--data', data, '--out', out]));
    await expect(err).rejects.toThrow(/124M with -b 16 -t 1024 needs [\d,]+ MiB of WebAssembly memory \(weights, gradients and AdamW moments 1,899 MiB \+ activations [\d,]+ MiB\), more than its limit of 4,096 MiB .*lower --batch \(-b \d fits\) or --seq \(-t\)/);
    expect(fs.existsSync(out)).toBe(false);
  });

  it('removes the temp file a killed save left behind', async () => {
    const out = path.join(root, 'stale');
    await quietly(() => pretrain(['--data', data, ...tiny, '--steps', '3', '--stop-at', '1', '--out', out]));
    const stale = path.join(out, '.checkpoint.ckpt.999999999.deadbeef.tmp'); // pids never reach 999999999
    fs.writeFileSync(stale, Buffer.alloc(4096));
    const log = await quietly(() => pretrain(['--resume', out, '--kernels', 'ref', '--threads', '1']));
    expect(log).toMatch(/removed .*\.checkpoint\.ckpt\.999999999\.deadbeef\.tmp, left by an interrupted save/);
    expect(fs.existsSync(stale)).toBe(false);
    expect(readCheckpointHeader(path.join(out, 'checkpoint.ckpt')).step).toBe(3);
  });

  it('--resume works from another folder (the data path is stored resolved) and says which path it tried', async () => {
    const cwd = process.cwd();
    const moving = path.join(root, 'moving');
    fs.cpSync(data, path.join(moving, 'data'), { recursive: true });
    const out = path.join(root, 'elsewhere');
    try {
      process.chdir(moving);
      await quietly(() => pretrain(['--data', 'data', ...tiny, '--steps', '3', '--stop-at', '1', '--out', out]));
      process.chdir(root);
      await quietly(() => pretrain(['--resume', out, '--stop-at', '2', '--kernels', 'ref', '--threads', '1']));
      expect(readCheckpointHeader(path.join(out, 'checkpoint.ckpt')).step).toBe(2);
      fs.renameSync(path.join(moving, 'data'), path.join(moving, 'moved'));
      await expect(pretrain(['--resume', out])).rejects.toThrow(/training data is not at .*moving\/data \(the path saved in .*checkpoint\.ckpt\).*give --data/);
      await quietly(() => pretrain(['--resume', out, '--data', path.join(moving, 'moved'), '--kernels', 'ref', '--threads', '1']));
      expect(readCheckpointHeader(path.join(out, 'checkpoint.ckpt')).step).toBe(3);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a failed save (disk full) keeps the last checkpoint and rescues the weights to the temp folder', async () => {
    const out = path.join(root, 'full');
    await quietly(() => pretrain(['--data', data, ...tiny, '--steps', '4', '--stop-at', '2', '--out', out]));
    const good = fs.readFileSync(path.join(out, 'checkpoint.ckpt'));
    // the disk fills up: the new checkpoint cannot be created in the run directory (ENOSPC)
    const nodeFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const open = nodeFs.openSync;
    nodeFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
      if (String(p).startsWith(path.join(out, '.checkpoint.ckpt.')) && String(p).endsWith('.tmp')) {
        throw Object.assign(new Error(`ENOSPC: no space left on device, open '${String(p)}'`), { code: 'ENOSPC', syscall: 'open', path: String(p) });
      }
      return (open as (...a: unknown[]) => number)(p, ...rest);
    }) as typeof fs.openSync;
    syncBuiltinESMExports();
    const rescue = rescuePath(path.join(out, 'checkpoint.ckpt'), 4);
    fs.rmSync(rescue, { force: true });
    try {
      await expect(quietly(() => pretrain(['--resume', out, '--kernels', 'ref', '--threads', '1']))).rejects.toThrow(
        /could not save the checkpoint of step 4: cannot open .*: no space left on the device.*\(ENOSPC\)\. The weights of step 4 are in .*tinyllm-rescue.*full-step4\.ckpt instead .*the previous checkpoint .* \(step 2\) is kept as it was/,
      );
    } finally {
      nodeFs.openSync = open;
      syncBuiltinESMExports();
    }
    expect(fs.readFileSync(path.join(out, 'checkpoint.ckpt')).equals(good)).toBe(true);
    expect(readCheckpointHeader(rescue).step).toBe(4);
    fs.rmSync(rescue);
  });

  it('a file-system error mid-run (metrics cannot be appended) saves the run before stopping', async () => {
    const out = path.join(root, 'mid-run');
    const nodeFs = createRequire(import.meta.url)('node:fs') as typeof fs;
    const append = nodeFs.appendFileSync;
    let lines = 0;
    nodeFs.appendFileSync = ((p: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
      if (String(p) === path.join(out, 'metrics.jsonl') && ++lines === 3) {
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', syscall: 'write', path: String(p) });
      }
      return (append as (...a: unknown[]) => void)(p, ...rest);
    }) as typeof fs.appendFileSync;
    syncBuiltinESMExports();
    try {
      await expect(quietly(() => pretrain(['--data', data, ...tiny, '--steps', '10', '--out', out]))).rejects.toThrow(
        /^cannot write .*metrics\.jsonl: no space left on the device.*; the run was saved at step 3 in .*checkpoint\.ckpt — fix that, then continue with --resume /,
      );
    } finally {
      nodeFs.appendFileSync = append;
      syncBuiltinESMExports();
    }
    expect(readCheckpointHeader(path.join(out, 'checkpoint.ckpt')).step).toBe(3);
  });

  it('Ctrl-C saves, then the command exits 130 and names how to continue', async () => {
    const out = path.join(root, 'ctrl-c');
    // the first step runs after the 'batch …' line; the signal arrives during it
    let sent = false;
    const log = await quietly(async () => {
      const write = process.stderr.write;
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        if (!sent && String(chunk).startsWith('batch ')) {
          sent = true;
          setImmediate(() => process.kill(process.pid, 'SIGINT'));
        }
        return (write as (c: string | Uint8Array) => boolean).call(process.stderr, chunk);
      });
      expect(await main(['pretrain', '--data', data, ...tiny, '--steps', '50', '--out', out])).toBe(130);
    });
    expect(log).toMatch(/interrupted: saved .*checkpoint\.ckpt at step \d+ of 50/);
    expect(log).toMatch(/tinyllm pretrain: interrupted: stopped at step \d+ of 50; continue with: tinyllm pretrain --resume .*ctrl-c/);
    expect(readCheckpointHeader(path.join(out, 'checkpoint.ckpt')).step).toBeLessThan(50);
  });

  it('an unwritable --out is refused before any work, in one line', async () => {
    const file = path.join(root, 'a-file');
    fs.writeFileSync(file, 'x');
    await expect(pretrain(['--data', data, ...tiny, '--steps', '1', '--out', path.join(file, 'run')])).rejects.toThrow(/--out .*a-file\/run: cannot write into .*a-file: a part of this path is a file, not a folder.*\(ENOTDIR\)/);
    await expect(pretrain(['--data', data, ...tiny, '--steps', '1', '--out', file])).rejects.toThrow(/is a file, not a folder/);
  });
});

describe('the tokenizer a dataset was prepared with', () => {
  it('inspect, pretrain, generate and convert all use the manifest\'s tokenizer, and a different one is refused', async () => {
    const text = path.join(root, 'own.txt');
    fs.writeFileSync(text, Array.from({ length: 300 }, (_, i) => `temp=${20 + (i % 7)}.${i % 10} hum=${40 + (i % 13)} status=${i % 9 ? 'ok' : 'WARN'}\n${i % 5 === 4 ? '\n' : ''}`).join(''));
    const tok = path.join(root, 'tok');
    const dataDir = path.join(root, 'own-data');
    let log = '';
    const capture = async (fn: () => Promise<unknown>) => {
      const con = vi.spyOn(console, 'log').mockImplementation((s: string) => void (log += `${s}\n`));
      const out = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => ((log += String(c)), true));
      try {
        const err = await quietly(fn);
        log += err;
      } finally {
        con.mockRestore();
        out.mockRestore();
      }
    };
    await capture(() => main(['train-tokenizer', '--vocab-size', '300', '--out', tok, text]));
    const vocab = Object.keys(JSON.parse(fs.readFileSync(path.join(tok, 'vocab.json'), 'utf8'))).length;
    await capture(() => main(['prepare', text, '--tokenizer', path.relative(process.cwd(), tok), '--separator', '', '--out', dataDir, '--name', 'own', '--quiet']));
    // prepare warns about documents longer than the sequence length you say you will train with (--seq)
    const again = (seq: string) => capture(() => main(['prepare', text, '--tokenizer', path.relative(process.cwd(), tok), '--separator', '', '--out', path.join(root, 'seq-check'), '--name', `s${seq}`, '--seq', seq]));
    log = '';
    await again('2');
    expect(log).toMatch(/warning: documents of s2 are longer than --seq 2: median \d+ tokens/);
    log = '';
    await again('100000');
    expect(log).toMatch(/s100000 documents: median \d+ tokens/);
    expect(log).not.toMatch(/warning: documents/);

    log = '';
    await capture(async () => expect(await main(['inspect', path.join(dataDir, 'own')])).toBe(0));
    expect(log).toMatch(new RegExp(`tokenizer ${tok}`));
    expect(log).toMatch(/own_train_000000\.bin: .* [1-9]\d* documents/);
    expect(log).toMatch(/temp=2\d\.\d hum=/);
    await expect(main(['inspect', path.join(dataDir, 'own'), '--tokenizer', 'gpt2'])).resolves.toBe(1);

    const out = path.join(root, 'own-run');
    const args = ['--data', path.join(dataDir, 'own_train'), '--n-layer', '1', '--n-head', '2', '--n-embd', '16', '--block-size', '16', '--batch', '2', '--seq', '8', '--steps', '2', '--val-every', '0', '--sample-every', '0', '--kernels', 'ref', '--threads', '1', '--out', out];
    await expect(pretrain([...args, '--tokenizer', 'gpt2'])).rejects.toThrow(/--tokenizer gpt2 has 50257 tokens .*but .*own.* was prepared with .*tok \(\d+ tokens/);
    log = '';
    await capture(() => pretrain(args));
    expect(log).toMatch(/warning: documents of own are longer than --seq 8: median \d+ tokens, 90% up to \d+, longest \d+; .*train with --seq \d+ or more/);
    const h = readCheckpointHeader(path.join(out, 'checkpoint.ckpt'));
    expect(h.tokenizer).toBe(tok);
    expect(h.config.vocabSize).toBe(vocab);

    log = '';
    await capture(async () => expect(await main(['generate', '--ckpt', out, '--prompt', 'temp=', '--max-tokens', '4', '--kernels', 'ref', '--threads', '1'])).toBe(0));
    expect(log).toMatch(/^temp=/);
    const hf = path.join(root, 'own-hf');
    await capture(async () => expect(await main(['convert', out, hf])).toBe(0));
    for (const f of ['vocab.json', 'merges.txt']) expect(fs.readFileSync(path.join(hf, f), 'utf8')).toBe(fs.readFileSync(path.join(tok, f), 'utf8'));
  });

  it('inspect and the loader name the shard, offset and id of a token outside the vocabulary', async () => {
    const dir = path.join(root, 'oov');
    writeToyShards(dir, 50, 300, 100);
    const f = path.join(dir, 'toy_train_000000.bin');
    const bytes = fs.readFileSync(f);
    bytes.writeUInt16LE(60000, 1024 + 2 * 123);
    fs.writeFileSync(f, bytes);
    await expect(pretrain(['--data', dir, ...tiny, '--steps', '1', '--out', path.join(root, 'oov-run')])).rejects.toThrow(/toy_train_000000\.bin: token id 60000 at token offset 123 \(byte 1270\) is outside the vocabulary of 50 ids/);
    expect(fs.existsSync(path.join(root, 'oov-run'))).toBe(false);
    let log = '';
    const con = vi.spyOn(console, 'log').mockImplementation((s: string) => void (log += `${s}\n`));
    try {
      expect(await quietly(async () => expect(await main(['inspect', f])).toBe(1))).toMatch(/token ids outside the tokenizer's 50257/);
    } finally {
      con.mockRestore();
    }
    expect(log).toMatch(/max id 60000 — ABOVE the tokenizer's 50257 ids \(first: id 60000 at token offset 123\)/);
  });
});
