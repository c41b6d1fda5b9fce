// Retrieval in the server (`tinyllm serve --rag store.tlx`): the request's text becomes the input of the task
// template and the k nearest labelled examples go before it — the prompt eval --rag builds for the same row
// (src/rag/query.ts), within the context (examples shortened or left out, never the query: a query too long is
// refused). A request may set "rag": {"k": n, "keep_leaks": true} (0 ≤ n ≤ the server's --rag-max-k) or
// "rag": false; the response's "rag" field says which store rows were retrieved and used, how many were
// shortened or left out, and which stored rows are identical to the query (a leak).
import { commonInstruction } from '../task/read.js';
import { longestStoredAnswer, ragQueryPrompt, type RagQueryResult } from '../rag/query.js';
import type { Retriever } from '../rag/retrieve.js';
import { UserError } from '../util/errors.js';
import type { SequenceCodec, SequenceStart } from '../task/sequence.js';
import { answerEnd, type PromptTemplate, type TaskFields } from '../task/template.js';
import { ApiError } from './errors.js';
import { Fields } from './fields.js';

export interface ServeRag {
  retriever: Retriever;
  template: PromptTemplate;
  start: SequenceStart;
  allowSpecial: boolean;
  contextLength: number;
  /** k when a request does not say, and the largest k a request may ask for. */
  k: number;
  maxK: number;
  /** Tokens of the store's longest answer: the room every prompt leaves for an answer, as eval leaves it. */
  reserve: number;
  /** The instruction of a query that gives none: the store's most common one. */
  instruction: string;
}

/** The server's retrieval settings over an opened store (labelled examples only). */
export function serveRag(retriever: Retriever, codec: SequenceCodec, o: { template: PromptTemplate; start: SequenceStart; allowSpecial: boolean; contextLength: number; k: number; maxK: number }): ServeRag {
  const { store } = retriever;
  if (!store.labelled) throw new UserError(`--rag: the store ${store.source} holds unlabelled passages; the server needs a store built from a task file (labelled examples)`);
  if (o.k > o.maxK) throw new UserError(`--k ${o.k} is more than --rag-max-k ${o.maxK}`);
  return { retriever, ...o, reserve: longestStoredAnswer(codec, store, o), instruction: commonInstruction(store.rows) };
}

/** A request's retrieval: null when the server has no store or the request turns it off. */
export function readRag(f: Fields, rag: ServeRag | undefined): { k: number; keepLeaks: boolean } | null {
  const v = f.raw('rag');
  if (!rag) {
    if (v !== undefined && v !== false) throw new ApiError(400, 'rag: this server has no retrieval store (start it with --rag store.tlx)', 'rag');
    return null;
  }
  if (v === false) return null;
  if (v !== undefined && v !== true && (typeof v !== 'object' || Array.isArray(v))) throw new ApiError(400, 'rag must be an object such as {"k": 2, "keep_leaks": false}, or false', 'rag');
  const o = v !== undefined && v !== true ? new Fields(v as Record<string, unknown>, 'rag.') : null;
  const k = o ? o.number('k', { min: 0, max: rag.maxK, integer: true }, rag.k) : rag.k;
  return k === 0 ? null : { k, keepLeaks: o ? o.boolean('keep_leaks', false) : false };
}

/** What retrieval did for one request, as the response reports it. */
export interface RagInfo {
  k: number;
  key: string;
  /** Store rows (0-based, in the indexed file's order) retrieved, nearest first, and those in the prompt. */
  retrieved: number[];
  used: number[];
  shortened: number;
  dropped: number;
  /** Store rows identical to the query, and whether they were left out of its retrieval. */
  leaked: number[];
  leaks_excluded: boolean;
}

export interface ServedRagPrompt {
  ids: number[];
  /** The template's end marker (a generated answer stops there). */
  stop: string[];
  info: RagInfo;
}

/**
 * The retrieval-augmented prompt of a request: `input` (and `instruction`, default the store's most common) with
 * room for `reserve` answer tokens (at least the store's longest answer); a query that does not fit is a 400.
 */
export function servedRagPrompt(codec: SequenceCodec, rag: ServeRag, settings: { k: number; keepLeaks: boolean }, query: { input: string; instruction?: string }, reserve: number, field: string): ServedRagPrompt {
  const q: TaskFields = { instruction: query.instruction ?? rag.instruction, input: query.input };
  const room = Math.max(reserve, rag.reserve);
  let r: RagQueryResult;
  try {
    r = ragQueryPrompt(codec, { retriever: rag.retriever, k: settings.k, keepLeaks: settings.keepLeaks }, q, room, { template: rag.template, start: rag.start, allowSpecial: rag.allowSpecial, contextLength: rag.contextLength, overflow: 'refuse' }, field);
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw new ApiError(400, `${field} does not fit the model's context with room for a ${room}-token answer; shorten it`, field, 'context_length_exceeded');
  }
  const end = answerEnd(rag.template);
  return {
    ids: r.ids,
    stop: end ? [end] : [],
    info: { k: settings.k, key: rag.retriever.store.key.kind, retrieved: r.retrieved, used: r.usedRows, shortened: r.shortened, dropped: r.dropped, leaked: r.leaked, leaks_excluded: r.leaksExcluded },
  };
}
