// `tinyllm tokenize` and `tinyllm train-tokenizer`, run in-process with stdout captured.
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { run as tokenize } from '../../src/cli/commands/tokenize.js';
import { run as trainTokenizer } from '../../src/cli/commands/train-tokenizer.js';
import { UserError } from '../../src/util/errors.js';
import { gpt2 } from '../../src/tokenizer/index.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-cli-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

async function capture(fn: () => Promise<void>): Promise<string> {
  let out = '';
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void (out += `${a.join(' ')}\n`));
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  await fn();
  vi.restoreAllMocks();
  return out;
}

describe('tinyllm tokenize', () => {
  it('prints GPT-2 ids, text, and counts', async () => {
    expect(await capture(() => tokenize(['Hello world']))).toBe('[15496,995]\n');
    expect(await capture(() => tokenize(['Hello', 'world']))).toBe('[15496,995]\n');
    expect(await capture(() => tokenize(['--count', 'Hello world']))).toBe('2\n');
    expect(await capture(() => tokenize(['--special', 'Hi<|endoftext|>']))).toBe('[17250,50256]\n');
    expect(await capture(() => tokenize(['--decode', '15496 995']))).toMatch(/^Hello world\n?$/);
    expect(await capture(() => tokenize(['--decode', '[15496, 995]']))).toMatch(/^Hello world\n?$/);
    expect(await capture(() => tokenize(['--ids', '15496', '995']))).toMatch(/^Hello world\n?$/);
    const file = path.join(tmp, 'in.txt');
    fs.writeFileSync(file, 'Hello world');
    expect(await capture(() => tokenize(['--file', file]))).toBe('[15496,995]\n');
    const big = path.join(tmp, 'big.txt');
    const text = "Line one: it's 23.5°C 🤖\n\n  indented <|endoftext|> 你好\n".repeat(500);
    fs.writeFileSync(big, text);
    expect(await capture(() => tokenize(['--count', '--file', big]))).toBe(`${gpt2().encode(text).length}\n`);
    expect(await capture(() => tokenize(['--count', '--special', '--file', big]))).toBe(`${gpt2().encode(text, { allowSpecial: true }).length}\n`);
    expect(await capture(() => tokenize(['--help']))).toMatch(/Usage: tinyllm tokenize/);
  });

  it('names the bad id or file', async () => {
    await expect(tokenize(['--decode', '15496 x9'])).rejects.toThrow(/--decode: 'x9' is not a token id/);
    await expect(tokenize(['--decode', '50257'])).rejects.toThrow(/token id 50257 is outside 0\.\.50256/);
    await expect(tokenize(['--file', path.join(tmp, 'missing.txt')])).rejects.toThrow(UserError);
    await expect(tokenize(['--tokenizer', path.join(tmp, 'nowhere'), 'x'])).rejects.toThrow(/does not exist/);
  });
});

describe('tinyllm train-tokenizer', () => {
  it('trains, saves Hugging Face files, and the result works with tokenize --tokenizer', async () => {
    const file = path.join(tmp, 'train.txt');
    const lines = Array.from({ length: 400 }, (_, i) => `temp=${20 + (i % 7)}.${i % 10} hum=${40 + (i % 13)}.${(i * 7) % 10} status=${i % 9 ? 'ok' : 'WARN'}\n`);
    fs.writeFileSync(file, lines.join(''));
    const out = path.join(tmp, 'tok');
    const log = await capture(() => trainTokenizer(['--vocab-size', '300', '--out', out, file]));
    const [, size, eot] = log.match(/: (\d+) tokens, <\|endoftext\|> = (\d+)/) ?? [];
    expect(Number(size)).toBeGreaterThan(270);
    expect(Number(size)).toBeLessThanOrEqual(300);
    expect(Number(eot)).toBe(Number(size) - 1);
    expect(log).toMatch(/bytes\/token; GPT-2: /);
    for (const f of ['vocab.json', 'merges.txt', 'tokenizer.json']) expect(fs.existsSync(path.join(out, f))).toBe(true);
    const ids = JSON.parse(await capture(() => tokenize(['--tokenizer', out, 'temp=21.5 hum=40.2 status=ok'])));
    expect(ids.length).toBeLessThanOrEqual(13); // GPT-2: 13
    expect(await capture(() => tokenize(['--tokenizer', out, '--decode', ids.join(' ')]))).toMatch(/^temp=21\.5 hum=40\.2 status=ok\n?$/);
  });

  it('rejects bad options with what to do', async () => {
    await expect(trainTokenizer(['--vocab-size', '100', '--out', tmp, 'x'])).rejects.toThrow(/--vocab-size must be a whole number from 257 to 65536, got 100/);
    await expect(trainTokenizer(['--out', path.join(tmp, 'o'), path.join(tmp, 'missing.txt')])).rejects.toThrow(/input file '.*missing\.txt' does not exist/);
    await expect(trainTokenizer(['--out', path.join(tmp, 'o'), tmp])).rejects.toThrow(/is not a file/);
    await expect(trainTokenizer([path.join(tmp, 'train.txt')])).rejects.toThrow(/--out <dir> is required/);
  });
});
