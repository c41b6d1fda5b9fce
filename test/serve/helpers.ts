// Shared setup of the server tests: tiny random GPT-2 models (the runtime tests' byte-level tokenizer) exported to
// .tllm files in a temp dir, an in-process ModelServer on a free loopback port, and a client that reads an SSE
// stream event by event, checking the `data: …\n\n` framing as it goes.
import * as path from 'node:path';
import { exportTllm, type TllmScheme } from '../../src/export/deploy.js';
import type { TllmFinetune } from '../../src/export/tllm.js';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { loadModel } from '../../src/runtime/model.js';
import { ModelServer, type ServeOptions } from '../../src/serve/server.js';
import { tokenizerJsonText } from '../../src/tokenizer/files.js';
import { byteTokenizer, namedParams, tinyModel } from '../runtime/helpers.js';

export const F32: TllmScheme = { weights: 'f32', embedding: 'f32', group: 0 };
export const INT8: TllmScheme = { weights: 'int8', embedding: 'int8', group: 32 };

/** Small and fast: most contract tests. */
export const smallConfig: GPT2Config = { nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: 260, blockSize: 128 };
/** A long context and a few ms per token: generations that last long enough to queue behind or cut off. */
export const longConfig: GPT2Config = { nLayer: 4, nHead: 4, nEmbd: 128, vocabSize: 260, blockSize: 1024 };

export const FINETUNE: TllmFinetune = { promptTemplate: { ...TINYLLM_TEMPLATE }, startRule: 'endoftext', labels: ['left', 'right', 'up', 'down'], instruction: 'Which way did the hand move?' };

export function exportModel(dir: string, name: string, config: GPT2Config, scheme: TllmScheme, finetune?: TllmFinetune, seed = 3) {
  const model = tinyModel(seed, config);
  const file = path.join(dir, name);
  exportTllm(file, config, namedParams(model), { scheme, tokenizer: { json: tokenizerJsonText(byteTokenizer.model) }, ...(finetune ? { finetune } : {}) });
  return { file, model };
}

export interface Running {
  server: ModelServer;
  url: string;
}

export async function startServer(file: string, opts: Partial<ServeOptions> = {}): Promise<Running> {
  const server = new ModelServer(loadModel(file), { queue: 4, maxBody: 65536, ...opts });
  const a = await server.listen(0, '127.0.0.1');
  return { server, url: `http://127.0.0.1:${a.port}` };
}

export async function postJson(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; json: any }> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
  const text = await r.text();
  return { status: r.status, json: JSON.parse(text) };
}

/** Reads SSE events from a fetch response one at a time; each must be exactly `data: <payload>\n\n`. */
export class SseReader {
  private buf = '';
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly dec = new TextDecoder();

  constructor(readonly response: Response) {
    this.reader = (response.body as ReadableStream<Uint8Array>).getReader();
  }

  /** The next event's payload (the JSON text or '[DONE]'), or null at the end of the stream. */
  async next(): Promise<string | null> {
    for (;;) {
      const i = this.buf.indexOf('\n\n');
      if (i >= 0) {
        const event = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 2);
        if (!event.startsWith('data: ') || event.includes('\n')) throw new Error(`not an SSE data event: ${JSON.stringify(event)}`);
        return event.slice(6);
      }
      const { value, done } = await this.reader.read();
      if (done) {
        if (this.buf !== '') throw new Error(`stream ended inside an event: ${JSON.stringify(this.buf)}`);
        return null;
      }
      this.buf += this.dec.decode(value, { stream: true });
    }
  }

  /** Every remaining payload until [DONE], parsed; the stream must end right after it. */
  async rest(): Promise<any[]> {
    const out: any[] = [];
    for (;;) {
      const p = await this.next();
      if (p === null) throw new Error('stream ended without data: [DONE]');
      if (p === '[DONE]') break;
      out.push(JSON.parse(p));
    }
    if ((await this.next()) !== null) throw new Error('data after [DONE]');
    return out;
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

export async function streamPost(url: string, body: unknown, signal?: AbortSignal): Promise<SseReader> {
  const r = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal });
  if (r.status !== 200) throw new Error(`status ${r.status}: ${await r.text()}`);
  return new SseReader(r);
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
