// The page at / in a real headless browser (Debian's chromium driven by playwright-core, a dev dependency): the
// model card shows config, parameters, quantization and labels; a prompt typed into the box streams in and ends
// as the same text the JSON API returns for it; the classify form shows the label the API picks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../runtime/helpers.js';
import { exportModel, FINETUNE, INT8, postJson, smallConfig, startServer, type Running } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const dir = tempDir();
let s: Running;
let browser: BrowserContext;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  s = await startServer(exportModel(dir, 'gesture.tllm', smallConfig, INT8, FINETUNE).file);
  // a fresh profile in the temp dir
  browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await s?.server.shutdown();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('model card, streamed generation and the classify form', async () => {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${s.url}/`);
  const card = page.locator('#card');
  await expect.poll(() => card.innerText()).toContain('parameters');
  const cardText = await card.innerText();
  expect(cardText).toContain('gesture');
  expect(cardText).toContain('weights int8, embedding int8, groups of 32');
  expect(cardText).toContain('left, right, up, down');
  expect(cardText).toContain('layers 2, heads 2, width 32');

  // greedy, so the page's streamed text can be compared with the JSON API's
  await page.fill('#prompt', 'gesture log 1:');
  await page.fill('#max-tokens', '40');
  await page.fill('#temperature', '0');
  const stream = page.waitForResponse((r) => r.url().endsWith('/v1/completions'));
  await page.click('#generate');
  expect((await stream).headers()['content-type']).toMatch(/^text\/event-stream/);
  await expect.poll(() => page.locator('#generate').isEnabled()).toBe(true);
  const want = await postJson(`${s.url}/v1/completions`, { prompt: 'gesture log 1:', max_tokens: 40, temperature: 0, top_k: 40 });
  expect(want.json.choices[0].text.length).toBeGreaterThan(0);
  expect(await page.locator('#output').evaluate((e) => e.textContent)).toBe(want.json.choices[0].text);

  // a sensor window has one line per reading: the box keeps them; the instruction comes prefilled with the model's
  const input = 'ax=0.1 ay=-2.3 az=9.8\nax=0.4 ay=-2.1 az=9.7\nax=0.9 ay=-1.2 az=9.9';
  expect(await page.inputValue('#classify-instruction')).toBe(FINETUNE.instruction);
  await page.fill('#classify-input', input);
  const sent = page.waitForRequest((r) => r.url().endsWith('/v1/classify'));
  await page.click('#classify');
  expect(JSON.parse((await sent).postData() ?? '')).toEqual({ input, instruction: FINETUNE.instruction });
  await expect.poll(() => page.locator('#classify-label').count()).toBe(1);
  // a request without an instruction gets the model's
  const picked = await postJson(`${s.url}/v1/classify`, { input });
  expect(picked.json).toEqual((await postJson(`${s.url}/v1/classify`, { input, instruction: FINETUNE.instruction })).json);
  expect(await page.locator('#classify-label').innerText()).toBe(picked.json.label);
  expect(await page.locator('#classify-result tr').count()).toBe(FINETUNE.labels?.length);
  await page.screenshot({ path: path.join(process.env.TINYLLM_SCREENSHOT_DIR ?? dir, 'serve-page.png'), fullPage: true });
  expect(errors).toEqual([]);
}, 60_000);
