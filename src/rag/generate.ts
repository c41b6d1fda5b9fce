// The prompt of `tinyllm generate --rag` (training model or .tllm runtime): with a store of labelled examples,
// the free prompt becomes the input of the task template and the retrieved examples go before it exactly as
// eval puts them (ragQueryPrompt, room left for the store's longest answer); with a store of text passages, the
// nearest whole passages that fit go before the prompt as plain text, nearest last.
import { commonInstruction } from '../task/read.js';
import { describeRagQuery, longestStoredAnswer, ragQueryPrompt, type RagQueryResult } from './query.js';
import type { Retriever } from './retrieve.js';
import { encodeSequence, type SequenceCodec, type SequenceStart } from '../task/sequence.js';
import { answerEnd, type PromptTemplate } from '../task/template.js';

export interface GenerateRagOptions {
  k: number;
  template: PromptTemplate;
  /** The query's instruction (default: the most common one in the store). */
  instruction?: string;
  start: SequenceStart;
  allowSpecial: boolean;
  contextLength: number;
  /** With a passage store: tokens kept free for the generated text (a labelled store leaves room for its longest answer). */
  reserve: number;
  /** Keep store rows identical to the query (default: left out, and reported). */
  keepLeaks?: boolean;
}

export interface GenerateRagPrompt {
  ids: number[];
  stop: string[];
  /** One line about the retrieval, for stderr. */
  note: string;
  /** With a labelled store: what retrieval did. */
  query?: RagQueryResult;
}

export function ragPrompt(retriever: Retriever, codec: SequenceCodec, prompt: string, o: GenerateRagOptions): GenerateRagPrompt {
  const { store } = retriever;
  const opts = { template: o.template, start: o.start, allowSpecial: o.allowSpecial, contextLength: o.contextLength };
  if (store.labelled) {
    const query = { instruction: o.instruction ?? commonInstruction(store.rows), input: prompt };
    const r = ragQueryPrompt(codec, { retriever, k: o.k, keepLeaks: o.keepLeaks }, query, longestStoredAnswer(codec, store, opts), opts, '--prompt');
    const end = answerEnd(o.template);
    return { ids: r.ids, stop: end ? [end] : [], note: describeRagQuery(r), query: r };
  }
  const hits = retriever.search({ instruction: '', input: prompt }, o.k).map((j) => store.rows[j]);
  const encode = (text: string) => encodeSequence(codec, text, { start: 'none', allowSpecial: o.allowSpecial });
  const q = encodeSequence(codec, prompt, { start: o.start, allowSpecial: o.allowSpecial });
  const startLength = q.length - encode(prompt).length;
  let room = o.contextLength - o.reserve - q.length;
  const kept: number[][] = [];
  for (const h of hits) {
    const ids = encode(h.input + '\n\n');
    if (ids.length <= room) (kept.push(ids), (room -= ids.length));
  }
  const ids = q.slice(0, startLength);
  for (let i = kept.length - 1; i >= 0; i--) ids.push(...kept[i]);
  ids.push(...q.slice(startLength));
  if (ids.length === 0) ids.push(codec.eotToken);
  return { ids, stop: [], note: `${kept.length} of ${hits.length} retrieved passages fit the context` };
}
