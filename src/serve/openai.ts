// Response objects in OpenAI's shapes (what its clients and llama.cpp's server use): text_completion,
// chat.completion and their streamed chunks (chat: a first delta with the role, content deltas, a last empty delta
// with finish_reason), usage counts, and the model list. finish_reason: 'stop' (end of text or a stop string) or
// 'length' (max_tokens).
import { randomUUID } from 'node:crypto';
import type { GenerationResult } from './generation.js';

export type FinishReason = 'stop' | 'length';

export function finishReason(r: GenerationResult['reason']): FinishReason {
  return r === 'max-tokens' ? 'length' : 'stop';
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** id, created and model, shared by every chunk of one response. */
export interface ResponseHead {
  id: string;
  created: number;
  model: string;
}

export function responseHead(kind: 'cmpl' | 'chatcmpl', model: string): ResponseHead {
  return { id: `${kind}-${randomUUID().replaceAll('-', '')}`, created: Math.floor(Date.now() / 1000), model };
}

export function completion(h: ResponseHead, text: string, finish: FinishReason, u: Usage) {
  return { ...h, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }], usage: u };
}

export function completionChunk(h: ResponseHead, text: string, finish: FinishReason | null) {
  return { ...h, object: 'text_completion', choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] };
}

export function chatCompletion(h: ResponseHead, content: string, finish: FinishReason, u: Usage) {
  return { ...h, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: finish }], usage: u };
}

export function chatChunk(h: ResponseHead, delta: { role?: 'assistant'; content?: string }, finish: FinishReason | null) {
  return { ...h, object: 'chat.completion.chunk', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

export function modelList(id: string, created: number, meta: unknown) {
  return { object: 'list', data: [{ id, object: 'model', created, owned_by: 'tinyllm', meta }] };
}
