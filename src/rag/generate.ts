// The prompt of `tinyllm generate --rag`: with a store of labelled examples, the free prompt becomes the
// input of the task template and the retrieved examples go before it (fitRagPrompt); with a store of text
// passages, the nearest whole passages that fit go before the prompt as plain text, nearest last.
import { fitRagPrompt } from './prompt.js';
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
  /** Tokens kept free for the generated text. */
  reserve: number;
}

export function ragPrompt(retriever: Retriever, codec: SequenceCodec, prompt: string, o: GenerateRagOptions): { ids: number[]; stop: string[]; note: string } {
  const rows = retriever.store.rows;
  const freq = new Map<string, number>();
  for (const r of rows) freq.set(r.instruction, (freq.get(r.instruction) ?? 0) + 1);
  const instruction = o.instruction ?? [...freq].sort((a, b) => b[1] - a[1])[0]?.[0] ?? '';
  const query = { instruction, input: prompt };
  const hits = retriever.search(query, o.k).map((j) => rows[j]);
  const opts = { template: o.template, start: o.start, allowSpecial: o.allowSpecial, contextLength: o.contextLength };
  if (retriever.store.labelled) {
    const p = fitRagPrompt(codec, query, hits, o.reserve, opts, '--prompt');
    const stop = answerEnd(o.template) ? [answerEnd(o.template)] : [];
    return { ids: p.ids, stop, note: `${p.used} of ${hits.length} retrieved examples (${p.shortened} shortened, ${p.dropped} left out to fit the context)` };
  }
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
