// The `tinyllm` entry point: --version, one error prefix, file-system errors as one line with the path
// and what to do (no stack trace), and exit codes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const log = vi.spyOn(console, 'log').mockImplementation((s: string) => void (out += `${s}\n`));
  const error = vi.spyOn(console, 'error').mockImplementation((s: string) => void (err += `${s}\n`));
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation((c: string | Uint8Array) => ((err += String(c)), true));
  try {
    return { code: await main(argv), out, err };
  } finally {
    for (const s of [log, error, ewrite]) s.mockRestore();
  }
}

describe('tinyllm', () => {
  it('--version prints the package version', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(await cli(['--version'])).toEqual({ code: 0, out: `tinyllm ${pkg.version}\n`, err: '' });
  });

  it('prints an error once, prefixed once, on one line', async () => {
    const r = await cli(['pretrain', '--lr', '-1']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('tinyllm pretrain: option --lr must be a number from 0 to 10, got -1\n');
    const bad = await cli(['generate', '--nope']);
    expect(bad.err).toBe("tinyllm generate: unknown option '--nope' (see tinyllm generate --help)\n");
  });

  it('file-system errors on outputs are one line with the path and what to do', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-main-'));
    const file = path.join(dir, 'file');
    fs.writeFileSync(file, 'x');
    const text = path.join(dir, 't.txt');
    fs.writeFileSync(text, 'hello world\n'.repeat(50));
    // train-tokenizer checks its --out before training
    const tok = await cli(['train-tokenizer', '--vocab-size', '260', '--out', path.join(file, 'tok'), text]);
    expect(tok.code).toBe(1);
    expect(tok.err).toMatch(/^tinyllm train-tokenizer: --out .*file\/tok: cannot write into .*file: a part of this path is a file, not a folder; choose another path \(ENOTDIR\)\n$/);
    // datasets generate into a path under a file: no stack trace
    const ds = await cli(['datasets', 'generate', '--out', path.join(file, 'ds'), '--scale', '0.01']);
    expect(ds.code).toBe(1);
    expect(ds.err.trim().split('\n')).toHaveLength(1);
    expect(ds.err).toMatch(/^tinyllm datasets: --out .*file\/ds: cannot write into .*file: a part of this path is a file, not a folder; choose another path \(ENOTDIR\)$/m);
    // generated data sets are kept unless --force
    const sets = path.join(dir, 'sets');
    expect((await cli(['datasets', 'generate', '--out', sets, '--scale', '0.01'])).code).toBe(0);
    const mark = path.join(sets, 'gesture', 'train.jsonl');
    fs.writeFileSync(mark, 'edited by the user\n');
    const twice = await cli(['datasets', 'generate', '--out', sets, '--scale', '0.01']);
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/--out .*sets already holds results \(datasets\.json, gesture, robot, sensor-logs, text\); --force to start over/);
    expect(fs.readFileSync(mark, 'utf8')).toBe('edited by the user\n');
    expect((await cli(['datasets', 'generate', '--out', sets, '--scale', '0.01', '--force'])).code).toBe(0);
    expect(fs.readFileSync(mark, 'utf8')).not.toBe('edited by the user\n');
    // an existing tokenizer is kept unless --force
    const out = path.join(dir, 'tok');
    expect((await cli(['train-tokenizer', '--vocab-size', '260', '--out', out, text])).code).toBe(0);
    const again = await cli(['train-tokenizer', '--vocab-size', '260', '--out', out, text]);
    expect(again.err).toMatch(/already holds results \(vocab\.json, merges\.txt, tokenizer\.json\); --force to start over/);
    expect((await cli(['train-tokenizer', '--vocab-size', '260', '--out', out, '--force', text])).code).toBe(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
