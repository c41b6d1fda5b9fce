// Contract tests of `tinyllm serve`'s API on an in-process server: every route's shape (OpenAI's objects, SSE
// chunks parsed one by one), texts and classification scores checked against the training model on the same
// weights, validation errors naming the field, body and context limits, 404/405, 503 when the queue is full, and
// a client disconnect stopping its generation; Host names other than the bound ones refused (DNS rebinding).
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateText } from '../../src/models/gpt2/generate.js';
import type { GPT2 } from '../../src/models/gpt2/model.js';
import { byteTokenizer, tempDir } from '../runtime/helpers.js';
import { exportModel, F32, FINETUNE, INT8, longConfig, postJson, smallConfig, startServer, streamPost, until, type Running } from './helpers.js';

const dir = tempDir();
const plain = exportModel(dir, 'plain.tllm', smallConfig, F32);
const tuned = exportModel(dir, 'tuned.tllm', smallConfig, F32, FINETUNE, 5);
let a: Running; // the plain model
let t: Running; // the "fine-tuned" one (labels and template in its header)

beforeAll(async () => {
  a = await startServer(plain.file, { maxBody: 4096 });
  t = await startServer(tuned.file);
});
afterAll(async () => {
  await Promise.all([a.server.shutdown(), t.server.shutdown()]);
  fs.rmSync(dir, { recursive: true, force: true });
});

function greedy(model: GPT2, prompt: string, maxTokens: number): string {
  // <|endoftext|> first, then the prompt: the sequence start training documents have (a .tllm without a rule gets it too)
  return generateText(model, byteTokenizer, prompt, { maxTokens, temperature: 0, stopTokens: [] }).text;
}

describe('GET routes', () => {
  it('/health, /v1/models (with the model card) and the page', async () => {
    const h = await (await fetch(`${a.url}/health`)).json();
    expect(h).toEqual({ status: 'ok', model: 'plain', queue: { running: 0, waiting: 0, limit: 4 } });
    const m = await (await fetch(`${t.url}/v1/models`)).json();
    expect(m.object).toBe('list');
    expect(m.data).toHaveLength(1);
    expect(m.data[0]).toMatchObject({ id: 'tuned', object: 'model', owned_by: 'tinyllm' });
    expect(m.data[0].meta).toMatchObject({ config: smallConfig, parameters: tuned.model.params.data.length, quantization: F32, finetune: FINETUNE });
    expect(m.data[0].meta.promptFormat).toBe('### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{answer}\n\n### End');
    const page = await fetch(`${a.url}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('id="classify-form"');
  });
});

describe('/v1/completions', () => {
  it('greedy text equals the training model’s on the same weights; usage counts tokens', async () => {
    const r = await postJson(`${a.url}/v1/completions`, { prompt: 'sensor 12,7', max_tokens: 24, temperature: 0, ignore_eos: true });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ object: 'text_completion', model: 'plain', usage: { prompt_tokens: 12, completion_tokens: 24, total_tokens: 36 } });
    expect(r.json.id).toMatch(/^cmpl-/);
    expect(r.json.choices).toEqual([{ index: 0, text: greedy(plain.model, 'sensor 12,7', 24), logprobs: null, finish_reason: 'length' }]);
  });

  it('streams chunks whose text adds up to the same seeded sample, then a finish chunk and [DONE]', async () => {
    const body = { prompt: 'abc', max_tokens: 30, temperature: 0.9, top_k: 20, seed: 7, ignore_eos: true };
    const whole = await postJson(`${a.url}/v1/completions`, body);
    const chunks = await (await streamPost(`${a.url}/v1/completions`, { ...body, stream: true })).rest();
    expect(chunks.length).toBeGreaterThan(2);
    const last = chunks.pop();
    expect(last.choices).toEqual([{ index: 0, text: '', logprobs: null, finish_reason: 'length' }]);
    for (const c of [...chunks, last]) {
      expect(c).toMatchObject({ object: 'text_completion', id: last.id, created: last.created, model: 'plain' });
    }
    for (const c of chunks) expect(c.choices[0].finish_reason).toBeNull();
    expect(chunks.map((c) => c.choices[0].text).join('')).toBe(whole.json.choices[0].text);
  });

  it('stops before a stop string (finish_reason stop)', async () => {
    const full = greedy(plain.model, 'xyz', 40);
    const stop = full.slice(10, 12);
    const r = await postJson(`${a.url}/v1/completions`, { prompt: 'xyz', max_tokens: 40, temperature: 0, ignore_eos: true, stop: [stop, 'never'] });
    expect(r.json.choices[0]).toMatchObject({ text: full.slice(0, full.indexOf(stop)), finish_reason: 'stop' });
  });
});

describe('/v1/chat/completions', () => {
  it('a role delta, content deltas, an empty delta with finish_reason, [DONE]; equal to the non-streamed message', async () => {
    const body = { messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }], max_tokens: 12, seed: 3, ignore_eos: true };
    const whole = await postJson(`${a.url}/v1/chat/completions`, body);
    expect(whole.json).toMatchObject({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant' }, logprobs: null }] });
    expect(whole.json.id).toMatch(/^chatcmpl-/);
    const chunks = await (await streamPost(`${a.url}/v1/chat/completions`, { ...body, stream: true })).rest();
    for (const c of chunks) expect(c.object).toBe('chat.completion.chunk');
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    const last = chunks.at(-1);
    expect(last.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: whole.json.choices[0].finish_reason });
    expect(chunks.slice(1, -1).map((c) => c.choices[0].delta.content).join('')).toBe(whole.json.choices[0].message.content);
  });

  it('a fine-tuned model gets its template around the last user message (instruction: the system message, else the header\'s)', async () => {
    const ask = async (messages: { role: string; content: string }[], instruction: string) => {
      const r = await postJson(`${t.url}/v1/chat/completions`, { messages, max_tokens: 8, temperature: 0, ignore_eos: true });
      // <|endoftext|> + the template with the instruction and the input
      const prompt = `### Instruction:\n${instruction}\n\n### Input:\nax=1\n\n### Response:\n`;
      expect(r.json.usage.prompt_tokens).toBe(1 + prompt.length);
      expect(r.json.choices[0].message.content).toBe(greedy(tuned.model, prompt, 8));
    };
    await ask([{ role: 'user', content: 'ax=1' }], FINETUNE.instruction as string);
    await ask([{ role: 'system', content: 'Which way?' }, { role: 'user', content: 'ax=1' }], 'Which way?');
  });
});

/** Σ log p(label | prompt) by one full forward pass of the training model (softmax of its logits). */
function labelLogprob(model: GPT2, prompt: number[], label: number[]): number {
  const seq = [...prompt, ...label];
  model.forward(Int32Array.from(seq), null, 1, seq.length);
  const logits = model.logits();
  const V = model.config.vocabSize;
  let sum = 0;
  for (let i = prompt.length - 1; i < seq.length - 1; i++) {
    const row = logits.subarray(i * V, (i + 1) * V);
    const max = Math.max(...row);
    let z = 0;
    for (const x of row) z += Math.exp(x - max);
    sum += row[seq[i + 1]] - max - Math.log(z);
  }
  return sum;
}

describe('/v1/classify', () => {
  it('ranks the header’s labels by the likelihood of each label and the token after it (with the header’s instruction); scores equal the training model’s', async () => {
    const input = 'ax=0.1 ay=-2.3 az=9.8';
    const r = await postJson(`${t.url}/v1/classify`, { input });
    expect(r.status).toBe(200);
    expect(r.json.labels.map((l: any) => l.label)).toEqual(FINETUNE.labels);
    // no instruction in the request: the header's (the one the training rows had)
    const prompt = [256, ...byteTokenizer.encode(`### Instruction:\n${FINETUNE.instruction}\n\n### Input:\n${input}\n\n### Response:\n`)];
    // each label's answer as fine-tuning trains it is the label, then the template's end marker ("\n\n### End");
    // ranking scores the label and the end marker's first token (byte tokens: "\n"), as eval ranks
    const want = (FINETUNE.labels as string[]).map((l) => labelLogprob(tuned.model, prompt, byteTokenizer.encode(`${l}\n`)));
    r.json.labels.forEach((l: any, i: number) => expect(l.logprob).toBeCloseTo(want[i], 3));
    const best = want.indexOf(Math.max(...want));
    expect(r.json.label).toBe(FINETUNE.labels?.[best]);
    const ps = r.json.labels.map((l: any) => l.probability);
    expect(ps.reduce((x: number, y: number) => x + y, 0)).toBeCloseTo(1, 9);
    expect(ps[best]).toBe(Math.max(...ps));
  });

  it('labels in the request replace the model’s; a model without labels needs them', async () => {
    const r = await postJson(`${t.url}/v1/classify`, { input: 'x', labels: ['yes', 'no'] });
    expect(r.json.labels.map((l: any) => l.label)).toEqual(['yes', 'no']);
    const none = await postJson(`${a.url}/v1/classify`, { input: 'x' });
    expect(none.status).toBe(400);
    expect(none.json.error.param).toBe('labels');
  });
});

describe('errors: OpenAI-style JSON naming the field, never a crash', () => {
  const cases: [string, string, unknown, number, string | null][] = [
    ['bad JSON', '/v1/completions', '{"prompt": "a",', 400, null],
    ['not an object', '/v1/completions', '[1, 2]', 400, null],
    ['max_tokens a string', '/v1/completions', { prompt: 'a', max_tokens: 'ten' }, 400, 'max_tokens'],
    ['max_tokens 0', '/v1/completions', { prompt: 'a', max_tokens: 0 }, 400, 'max_tokens'],
    ['temperature < 0', '/v1/completions', { prompt: 'a', temperature: -1 }, 400, 'temperature'],
    ['top_p 0', '/v1/completions', { prompt: 'a', top_p: 0 }, 400, 'top_p'],
    ['top_k fractional', '/v1/completions', { prompt: 'a', top_k: 1.5 }, 400, 'top_k'],
    ['seed negative', '/v1/completions', { prompt: 'a', seed: -4 }, 400, 'seed'],
    ['stop of numbers', '/v1/completions', { prompt: 'a', stop: [1] }, 400, 'stop'],
    ['five stops', '/v1/completions', { prompt: 'a', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop'],
    ['stream a string', '/v1/completions', { prompt: 'a', stream: 'yes' }, 400, 'stream'],
    ['prompt a number', '/v1/completions', { prompt: 5 }, 400, 'prompt'],
    ['n 2', '/v1/completions', { prompt: 'a', n: 2 }, 400, 'n'],
    ['prompt + max_tokens > context', '/v1/completions', { prompt: 'abcd', max_tokens: 125 }, 400, 'max_tokens'],
    ['prompt > context', '/v1/completions', { prompt: 'x'.repeat(200) }, 400, 'prompt'],
    ['no messages', '/v1/chat/completions', { prompt: 'a' }, 400, 'messages'],
    ['empty messages', '/v1/chat/completions', { messages: [] }, 400, 'messages'],
    ['unknown role', '/v1/chat/completions', { messages: [{ role: 'robot', content: 'x' }] }, 400, 'messages[0].role'],
    ['content a number', '/v1/chat/completions', { messages: [{ role: 'user', content: 3 }] }, 400, 'messages[0].content'],
    ['message not an object', '/v1/chat/completions', { messages: ['hi'] }, 400, 'messages[0]'],
    ['classify without input', '/v1/classify', { labels: ['a'] }, 400, 'input'],
    ['duplicate labels', '/v1/classify', { input: 'x', labels: ['a', 'a'] }, 400, 'labels'],
    ['empty label', '/v1/classify', { input: 'x', labels: ['a', ''] }, 400, 'labels'],
    ['body over --max-body', '/v1/completions', { prompt: 'x'.repeat(5000) }, 413, null],
  ];
  it.each(cases)('%s → %i', async (_name, route, body, status, param) => {
    const r = await postJson(`${a.url}${route}`, body);
    expect(r.status).toBe(status);
    expect(r.json.error).toMatchObject({ param, type: 'invalid_request_error' });
    expect(typeof r.json.error.message).toBe('string');
    if (param) expect(r.json.error.message).toContain(param.replace(/\[\d+\]$/, ''));
  });

  it('wrong content type 415, unknown route 404, wrong method 405 with Allow; still healthy', async () => {
    const plainText = await fetch(`${a.url}/v1/completions`, { method: 'POST', body: '{"prompt":"a"}', headers: { 'Content-Type': 'text/plain' } });
    expect(plainText.status).toBe(415);
    const nf = await fetch(`${a.url}/v2/completions`);
    expect(nf.status).toBe(404);
    expect((await nf.json()).error.type).toBe('not_found_error');
    const get = await fetch(`${a.url}/v1/completions`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await fetch(`${a.url}/health`, { method: 'POST' })).status).toBe(405);
    expect((await (await fetch(`${a.url}/health`)).json()).status).toBe('ok');
  });
});

/** A request with the given Host header (fetch does not let one set it); status and parsed JSON body. */
function withHost(url: string, host: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, headers: { Host: host, ...(text ? { 'Content-Type': 'application/json' } : {}) } }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode as number, json: JSON.parse(data) }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

describe('Host header (DNS rebinding)', () => {
  it('answers loopback names with the bound port and refuses any other Host with a 403 JSON error', async () => {
    const port = new URL(a.url).port;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await withHost(`${a.url}/health`, host)).status, host).toBe(200);
    }
    for (const host of [`evil.example:${port}`, 'localhost', `127.0.0.1:${Number(port) + 1}`, `localhost.evil.example:${port}`, `localhost:${port}/x`, `x@localhost:${port}`]) {
      const r = await withHost(`${a.url}/health`, host);
      expect(r.status, String(host)).toBe(403);
      expect(r.json.error).toMatchObject({ type: 'permission_error', code: 'host_not_allowed' });
      expect(r.json.error.message).toMatch(/is not this server .*--allow-host/);
    }
    // HTTP/1.0 may leave Host out (Node refuses a 1.1 request without one itself)
    const raw = await new Promise<string>((resolve, reject) => {
      let got = '';
      const sock = net.connect(Number(port), '127.0.0.1', () => sock.end('GET /health HTTP/1.0\r\n\r\n'));
      sock.on('data', (c) => (got += c));
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 403 [^]*"code":"host_not_allowed"/);
    // before any work: a completion under a rebound name is refused, not generated
    const post = await withHost(`${a.url}/v1/completions`, `attacker.example:${port}`, 'POST', { prompt: 'x', max_tokens: 1 });
    expect([post.status, post.json.error.code]).toEqual([403, 'host_not_allowed']);
  });

  it('--allow-host adds names (any case), on the bound port', async () => {
    const s = await startServer(plain.file, { allowHosts: ['pi.local'] });
    try {
      const port = new URL(s.url).port;
      expect((await withHost(`${s.url}/health`, `pi.local:${port}`)).status).toBe(200);
      expect((await withHost(`${s.url}/health`, `PI.Local:${port}`)).status).toBe(200);
      expect((await withHost(`${s.url}/health`, `other.local:${port}`)).status).toBe(403);
    } finally {
      await s.server.shutdown();
    }
  });
});

describe('queue and cancellation (a model with a 1024-token context, a few ms per token)', () => {
  const long = exportModel(dir, 'long.tllm', longConfig, INT8);
  let q: Running;
  beforeAll(async () => {
    q = await startServer(long.file, { queue: 1 });
  });
  afterAll(() => q.server.shutdown());
  const health = async () => (await (await fetch(`${q.url}/health`)).json()).queue;

  it('one running, one waiting, the next gets 503; a disconnect stops its generation and the waiting one runs', async () => {
    const running = await streamPost(`${q.url}/v1/completions`, { prompt: 'a', max_tokens: 1000, ignore_eos: true, stream: true });
    expect(await running.next()).toMatch(/^\{/); // generating
    const waiting = postJson(`${q.url}/v1/completions`, { prompt: 'b', max_tokens: 3 });
    await until(async () => (await health()).waiting === 1, 'the second request to wait');
    const full = await postJson(`${q.url}/v1/completions`, { prompt: 'c', max_tokens: 3 });
    expect(full.status).toBe(503);
    expect(full.json.error).toMatchObject({ type: 'unavailable_error', code: 'queue_full' });
    expect(full.json.error.message).toContain('--queue 1');
    const tokensBefore = q.server.stats.tokens;
    await running.cancel(); // the client goes away mid-stream
    const done = await waiting;
    expect(done.status).toBe(200);
    expect(q.server.stats.cancelled).toBe(1);
    expect(q.server.stats.tokens - tokensBefore).toBeLessThan(1000); // the cut-off job did not run to its end
    expect(await health()).toEqual({ running: 0, waiting: 0, limit: 1 });
  });

  it('a client that leaves while waiting is dropped without generating', async () => {
    const running = await streamPost(`${q.url}/v1/completions`, { prompt: 'a', max_tokens: 1000, ignore_eos: true, stream: true });
    await running.next();
    const abort = new AbortController();
    const waiting = postJson(`${q.url}/v1/completions`, { prompt: 'b', max_tokens: 5 }, { signal: abort.signal }).catch((e: Error) => e.name);
    await until(async () => (await health()).waiting === 1, 'the second request to wait');
    abort.abort();
    expect(await waiting).toBe('AbortError');
    const before = { ...q.server.stats };
    await running.cancel();
    await until(async () => (await health()).running === 0, 'the queue to empty');
    expect(q.server.stats.cancelled - before.cancelled).toBe(2);
    expect(q.server.stats.completed).toBe(before.completed);
  });
});
