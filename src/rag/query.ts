// One retrieval-augmented prompt for one query, built the same way by eval, generate (training model or .tllm
// runtime) and serve: the k nearest stored examples, leaving out store rows identical to the query (a leak: its
// own answer) unless asked to keep them, fitted before the query by fitRagPrompt; and what happened, for the
// report: the store rows retrieved and used, how many were shortened or left out, the leaked rows.
// Imports no training code (the runtime and the server use it).
import { labelCandidates, type PromptOptions } from '../task/encode.js';
import type { SequenceCodec } from '../task/sequence.js';
import type { TaskFields } from '../task/template.js';
import { perObject } from '../util/memo.js';
import { leakIndex } from './leak.js';
import { fitRagPrompt, type RagPrompt } from './prompt.js';
import type { Retriever } from './retrieve.js';
import type { Store } from './store.js';

export interface RagQuery {
  retriever: Retriever;
  k: number;
  /** Keep store rows identical to the query in its retrieval (default: left out; they are always reported). */
  keepLeaks?: boolean;
}

export interface RagQueryResult extends RagPrompt {
  /** Store rows (0-based, in the indexed file's order) retrieved, nearest first, and those that went in. */
  retrieved: number[];
  usedRows: number[];
  /** Store rows identical to the query, and whether they were left out of its retrieval. */
  leaked: number[];
  leaksExcluded: boolean;
}

const leaksOf = perObject((store: Store) => leakIndex(store.rows));

/** The rows of a store identical to `query` (see leak.ts). */
export function storeLeaks(store: Store, query: TaskFields): ReadonlySet<number> {
  return leaksOf(store)(query);
}

/**
 * Start tokens + retrieved examples + the query's prompt, at most contextLength + 1 − reserve tokens; the query is
 * cut only as it would be without retrieval (opts.overflow), never for the examples.
 */
export function ragQueryPrompt(codec: SequenceCodec, rag: RagQuery, query: TaskFields, reserve: number, opts: PromptOptions, where: string): RagQueryResult {
  const { store } = rag.retriever;
  const leaked = storeLeaks(store, query);
  const retrieved = rag.retriever.search(query, rag.k, rag.keepLeaks ? undefined : leaked);
  const p = fitRagPrompt(codec, query, retrieved.map((j) => store.rows[j]), reserve, opts, where);
  return { ...p, retrieved, usedRows: p.kept.map((i) => retrieved[i]), leaked: [...leaked], leaksExcluded: !rag.keepLeaks };
}

/** Tokens of the longest stored answer (output + end marker): the room a prompt leaves for a label of the store. */
export function longestStoredAnswer(codec: SequenceCodec, store: Store, opts: Pick<PromptOptions, 'template' | 'allowSpecial'>): number {
  return labelCandidates(codec, [...new Set(store.rows.map((r) => r.output))], opts).reduce((m, c) => Math.max(m, c.length), 0);
}

/** One line about a query's retrieval, for a CLI (`generate --rag`): rows used, shortened, left out, leaks. */
export function describeRagQuery(r: RagQueryResult): string {
  const leak = r.leaked.length ? `; LEAK: the query is identical to store row${r.leaked.length > 1 ? 's' : ''} ${r.leaked.join(', ')}, ${r.leaksExcluded ? 'left out of its retrieval' : 'KEPT in its retrieval (--rag-keep-leaks): its own answer is in the prompt'}` : '';
  return `${r.used} of ${r.retrieved.length} retrieved examples (store rows ${r.usedRows.join(', ') || 'none'}; ${r.shortened} shortened, ${r.dropped} left out to fit the context)${leak}`;
}
