// `tinyllm serve` as a process: it prints the port it picked (--port 0), and on SIGTERM stops accepting
// connections, refuses the waiting request with 503, lets the running stream finish, and exits 0. A port in use
// is a one-line error.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../runtime/helpers.js';
import { exportModel, INT8, longConfig, postJson, smallConfig, startServer, streamPost, until } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const bin = fileURLToPath(new URL('../../src/cli/bin.ts', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');

it('SIGTERM: no new connections, the waiting request gets 503, the running stream finishes, exit 0', async () => {
  const { file } = exportModel(dir, 'long.tllm', longConfig, INT8);
  const child = spawn(process.execPath, ['--import', tsx, bin, 'serve', '-m', file, '--port', '0', '--queue', '2', '-q'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await until(() => /http:\/\/127\.0\.0\.1:\d+\//.test(out), `the server to start (stdout: ${out}, stderr: ${err})`, 60_000);
    const url = (out.match(/http:\/\/127\.0\.0\.1:\d+/) as RegExpMatchArray)[0];
    const running = await streamPost(`${url}/v1/completions`, { prompt: 'a', max_tokens: 200, ignore_eos: true, stream: true, seed: 1 });
    expect(await running.next()).toMatch(/^\{/);
    const waiting = postJson(`${url}/v1/completions`, { prompt: 'b', max_tokens: 3 });
    await until(async () => (await (await fetch(`${url}/health`)).json()).queue.waiting === 1, 'the second request to wait');
    child.kill('SIGTERM');
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(refused.json.error.message).toContain('shutting down');
    await until(() => fetch(`${url}/health`).then(() => false, () => true), 'new connections to be refused');
    const chunks = await running.rest(); // the stream runs to its end
    expect(chunks.at(-1).choices[0].finish_reason).toBe('length');
    expect(await exited).toBe(0);
    expect(out).toContain('SIGTERM: stopping');
    expect(out).toMatch(/stopped \(\d+ requests served/);
    expect(err).toBe('');
  } finally {
    child.kill('SIGKILL');
  }
}, 90_000);

it('a port in use: a one-line error naming --port, exit 1', async () => {
  const { file } = exportModel(dir, 'small.tllm', smallConfig, INT8);
  const busy = await startServer(file);
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'error').mockImplementation((s: unknown) => void lines.push(String(s)));
  try {
    expect(await main(['serve', '-m', file, '--port', new URL(busy.url).port])).toBe(1);
    expect(lines).toEqual([`tinyllm serve: --port ${new URL(busy.url).port}: the port is in use; choose another (--port 0 picks a free one)`]);
  } finally {
    spy.mockRestore();
    await busy.server.shutdown();
  }
});
