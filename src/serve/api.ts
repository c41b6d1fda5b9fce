// The endpoints: /health, /v1/models, /v1/completions, /v1/chat/completions (JSON or SSE stream) and /v1/classify,
// each validating its body (types, ranges, prompt + max_tokens ≤ the context) before it queues any work. Field
// names and defaults follow OpenAI's API, with llama.cpp server's extras top_k, repeat_penalty and ignore_eos.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GenerateOptions } from '../models/gpt2/textgen.js';
import type { Decoder } from '../runtime/decoder.js';
import type { LoadedModel } from '../runtime/model.js';
import { readJsonObject } from './body.js';
import type { ModelCard } from './card.js';
import { chatPrompt, readMessages } from './chat.js';
import { labelIds, promptIdsOf } from '../runtime/prompt.js';
import { rankCandidates, requestPrompt } from './classify.js';
import { ApiError } from './errors.js';
import { Fields } from './fields.js';
import { runGeneration, type GenerationResult } from './generation.js';
import * as oa from './openai.js';
import type { JobQueue } from './queue.js';
import { readRag, servedRagPrompt, type RagInfo, type ServeRag } from './rag.js';
import { EventStream } from './stream.js';
import { decidingLengths, labelCandidates } from '../task/encode.js';
import { labelSet } from '../task/read.js';

export interface ServeStats {
  /** Requests answered with a result. */
  completed: number;
  /** Jobs stopped early because the client went away or the server stopped. */
  cancelled: number;
  /** Tokens generated. */
  tokens: number;
}

export interface ApiContext {
  model: LoadedModel;
  card: ModelCard;
  decoder: Decoder;
  queue: JobQueue;
  stats: ServeStats;
  maxBody: number;
  /** Retrieval-augmented prompts (serve --rag), off when absent. */
  rag?: ServeRag;
  /** True once a shutdown has to stop running work. */
  stopping(): boolean;
}

/** Longest stop string, label or message we take (characters). */
const MAX_STOP = 256;
const MAX_LABELS = 256;
const MAX_MESSAGES = 256;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A function telling whether the client has gone (or the server has to stop) before the response finished. */
function cancellation(ctx: ApiContext, res: ServerResponse): () => boolean {
  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  return () => gone || ctx.stopping();
}

export function health(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok', model: ctx.card.id, queue: { running: ctx.queue.running, waiting: ctx.queue.queued, limit: ctx.queue.limit } });
}

export function models(ctx: ApiContext, _req: IncomingMessage, res: ServerResponse): void {
  sendJson(res, 200, oa.modelList(ctx.card.id, Math.floor(Date.now() / 1000), ctx.card));
}

interface Sampling {
  options: GenerateOptions;
  stop: string[];
  stream: boolean;
}

/** The sampling fields shared by both completion endpoints; max_tokens defaults to `defaultMax` capped to the room left. */
function readSampling(f: Fields, ctx: ApiContext, promptTokens: number, promptField: string, defaultMax: number): Sampling {
  f.string('model', { maxLength: 256 }); // any name: the server has one model (as llama.cpp's server)
  const n = f.number('n', { min: 1, integer: true }, 1);
  if (n !== 1) throw new ApiError(400, 'n must be 1: this server returns one choice per request', 'n');
  if (f.raw('logprobs') !== undefined && f.raw('logprobs') !== false) throw new ApiError(400, 'logprobs is not supported', 'logprobs');
  const context = ctx.model.config.blockSize;
  const room = context - promptTokens;
  if (room < 1) throw new ApiError(400, `${promptField} is ${promptTokens} tokens; the model's context is ${context} tokens, which leaves no room to generate`, promptField, 'context_length_exceeded');
  const maxField = maxTokensField(f);
  const maxTokens = f.number(maxField, { min: 1, integer: true }, Math.min(defaultMax, room));
  if (maxTokens > room) {
    throw new ApiError(400, `${promptField} (${promptTokens} tokens) + ${maxField} (${maxTokens}) exceed the model's context of ${context} tokens; ask for at most ${room}`, maxField, 'context_length_exceeded');
  }
  const ignoreEos = f.boolean('ignore_eos', false);
  const options: GenerateOptions = {
    maxTokens,
    temperature: f.number('temperature', { min: 0, max: 2 }, 0.8),
    topP: f.number('top_p', { min: 0, max: 1, exclusiveMin: true }, 1),
    topK: f.number('top_k', { min: 0, integer: true }, 40),
    repetitionPenalty: f.number('repeat_penalty', { min: 0, max: 10, exclusiveMin: true }, 1),
    seed: f.number('seed', { min: 0, max: 4294967295, integer: true }, Math.floor(Math.random() * 4294967296)),
    ...(ignoreEos ? { stopTokens: [] } : {}),
  };
  return { options, stop: f.strings('stop', 4, MAX_STOP), stream: f.boolean('stream', false) };
}

/** OpenAI's two names for the generation limit: max_completion_tokens when given, else max_tokens. */
function maxTokensField(f: Fields): string {
  return f.raw('max_completion_tokens') !== undefined ? 'max_completion_tokens' : 'max_tokens';
}

/**
 * The prompt of a completion with retrieval (when the server has a store and the request keeps it on): room for
 * the asked max_tokens, else for the store's longest answer (the prompt eval builds).
 */
function ragPromptOf(ctx: ApiContext, f: Fields, query: { input: string; instruction?: string } | null, field: string) {
  const settings = readRag(f, ctx.rag);
  if (!settings || !ctx.rag) return null;
  if (!query) throw new ApiError(400, `${field} needs a user message: with retrieval its content is the query`, field);
  const asked = f.number(maxTokensField(f), { min: 1, integer: true });
  return servedRagPrompt(ctx.model.tokenizer, ctx.rag, settings, query, asked === undefined ? 0 : asked + 1, field);
}

/** The response's "rag" field, when retrieval was on. */
const ragField = (info: RagInfo | undefined) => (info ? { rag: info } : {});

export async function completions(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const f = new Fields(await readJsonObject(req, ctx.maxBody));
  let prompt = f.raw('prompt');
  if (Array.isArray(prompt) && prompt.length === 1) prompt = prompt[0];
  if (prompt === undefined) prompt = '';
  if (typeof prompt !== 'string') throw new ApiError(400, 'prompt must be a string (or an array of one string)', 'prompt');
  if (f.boolean('echo', false)) throw new ApiError(400, 'echo is not supported', 'echo');
  const rag = ragPromptOf(ctx, f, { input: prompt, instruction: f.string('instruction', { maxLength: ctx.maxBody }) }, 'prompt');
  const ids = rag?.ids ?? promptIdsOf(ctx.model, prompt);
  const s = readSampling(f, ctx, ids.length, 'prompt', 16);
  const head = oa.responseHead('cmpl', ctx.card.id);
  const extra = ragField(rag?.info);
  await generateResponse(ctx, res, ids, s, [...s.stop, ...(rag?.stop ?? [])], {
    chunk: (text) => oa.completionChunk(head, text, null),
    last: (finish) => ({ ...oa.completionChunk(head, '', finish), ...extra }),
    whole: (r, u) => ({ ...oa.completion(head, r.text, oa.finishReason(r.reason), u), ...extra }),
  });
}

export async function chatCompletions(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const f = new Fields(await readJsonObject(req, ctx.maxBody));
  const messages = readMessages(f.objects('messages', MAX_MESSAGES), ctx.maxBody);
  const user = messages.filter((m) => m.role === 'user').at(-1);
  const system = messages.filter((m) => m.role === 'system').map((m) => m.content);
  const rag = ragPromptOf(ctx, f, user ? { input: user.content, ...(system.length ? { instruction: system.join('\n') } : {}) } : null, 'messages');
  const p = rag ?? chatPrompt(ctx.model, messages);
  const s = readSampling(f, ctx, p.ids.length, 'messages', Number.MAX_SAFE_INTEGER);
  const head = oa.responseHead('chatcmpl', ctx.card.id);
  const extra = ragField(rag?.info);
  await generateResponse(ctx, res, p.ids, s, [...s.stop, ...p.stop], {
    first: () => oa.chatChunk(head, { role: 'assistant', content: '' }, null),
    chunk: (text) => oa.chatChunk(head, { content: text }, null),
    last: (finish) => ({ ...oa.chatChunk(head, {}, finish), ...extra }),
    whole: (r, u) => ({ ...oa.chatCompletion(head, r.text, oa.finishReason(r.reason), u), ...extra }),
  });
}

interface Shapes {
  first?: () => unknown;
  chunk: (text: string) => unknown;
  last: (finish: oa.FinishReason) => unknown;
  whole: (r: GenerationResult, u: oa.Usage) => unknown;
}

/** Queues the generation and answers with one JSON object or an SSE stream of chunks. */
async function generateResponse(ctx: ApiContext, res: ServerResponse, ids: number[], s: Sampling, stop: string[], shapes: Shapes): Promise<void> {
  const cancelled = cancellation(ctx, res);
  await ctx.queue.run(async () => {
    if (cancelled()) {
      ctx.stats.cancelled++;
      return;
    }
    const request = { ...s.options, prompt: ids, stopStrings: stop };
    let r: GenerationResult;
    if (s.stream) {
      const events = new EventStream(res);
      if (shapes.first) await events.send(shapes.first());
      r = await runGeneration(ctx.decoder, request, (piece) => events.send(shapes.chunk(piece)), cancelled);
      if (r.reason !== 'cancelled') {
        await events.send(shapes.last(oa.finishReason(r.reason)));
        events.done();
      } else {
        res.destroy();
      }
    } else {
      r = await runGeneration(ctx.decoder, request, () => undefined, cancelled);
      if (r.reason !== 'cancelled') sendJson(res, 200, shapes.whole(r, oa.usage(ids.length, r.tokens)));
    }
    ctx.stats.tokens += r.tokens;
    if (r.reason === 'cancelled') {
      ctx.stats.cancelled++;
      if (!res.headersSent && !res.destroyed) throw new ApiError(503, 'the server is shutting down; the request was cancelled');
    } else {
      ctx.stats.completed++;
    }
  });
}

export async function classify(ctx: ApiContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const f = new Fields(await readJsonObject(req, ctx.maxBody));
  f.string('model', { maxLength: 256 });
  const input = f.string('input', { required: true, maxLength: ctx.maxBody });
  const instruction = f.string('instruction', { maxLength: ctx.maxBody });
  const settings = readRag(f, ctx.rag);
  const rag = settings ? ctx.rag : undefined;
  const labels = f.raw('labels') !== undefined ? f.strings('labels', MAX_LABELS, MAX_STOP) : (ctx.model.finetune?.labels?.length ? ctx.model.finetune.labels : rag ? labelSet(rag.retriever.store.rows) : []);
  if (labels.length === 0) throw new ApiError(400, 'labels is required: this model file has no label set (give "labels": ["a", "b", …])', 'labels');
  if (labels.some((l) => l === '')) throw new ApiError(400, 'labels must not contain an empty string', 'labels');
  if (new Set(labels).size !== labels.length) throw new ApiError(400, 'labels must be different from each other', 'labels');
  // with retrieval, the prompt and the labels' answers are eval's (the retrieval template's end marker after each)
  const candidates = rag ? labelCandidates(ctx.model.tokenizer, labels, rag) : labelIds(ctx.model, labels);
  const deciding = decidingLengths(ctx.model.tokenizer, labels, candidates, rag ? rag.allowSpecial : ctx.model.finetune?.allowSpecial);
  const reserve = candidates.reduce((m, c) => Math.max(m, c.length), 0);
  const retrieved = rag && settings ? servedRagPrompt(ctx.model.tokenizer, rag, settings, { input, instruction }, reserve, 'input') : null;
  const prompt = retrieved?.ids ?? requestPrompt(ctx.model, { instruction, input }, reserve).ids;
  const cancelled = cancellation(ctx, res);
  await ctx.queue.run(async () => {
    const r = cancelled() ? null : await rankCandidates(ctx.decoder, prompt, candidates, deciding, cancelled);
    if (!r) {
      ctx.stats.cancelled++;
      if (!res.destroyed) throw new ApiError(503, 'the server is shutting down; the request was cancelled');
      return;
    }
    ctx.stats.completed++;
    sendJson(res, 200, {
      object: 'classification',
      model: ctx.card.id,
      label: labels[r.best],
      labels: labels.map((label, i) => ({ label, probability: r.probabilities[i], logprob: r.logprobs[i] })),
      usage: { prompt_tokens: prompt.length, total_tokens: prompt.length + candidates.reduce((n, c) => n + c.length, 0) },
      ...ragField(retrieved?.info),
    });
  });
}
