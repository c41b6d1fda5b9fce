// A retrieval-augmented prompt: the retrieved examples, each rendered with the task's prompt template as a
// complete example (prompt, answer, end marker) and followed by the separator, then the query's prompt
// exactly as it is without retrieval. The nearest example goes last (next to the query). The query is never
// cut for them: examples only take the room the query and its answer leave; one that does not fit has its
// input shortened (fitPrompt's rule) and is dropped when even that does not fit (farther ones may still).
import { fitPrompt, type FittedPrompt, type PromptOptions } from '../task/encode.js';
import { startTokens, type SequenceCodec } from '../task/sequence.js';
import { renderAnswer, type TaskFields } from '../task/template.js';
import { UserError } from '../util/errors.js';

export interface RagPrompt extends FittedPrompt {
  /** Examples put in the prompt, shortened ones among them, and retrieved ones left out for room. */
  used: number;
  /** Which of the retrieved examples went in (indices into `shots`, nearest first). */
  kept: number[];
  shortened: number;
  dropped: number;
}

/**
 * Start tokens + examples + the query's prompt, at most contextLength + 1 − reserve tokens (room for a
 * `reserve`-token answer). `shots` are the retrieved rows, nearest first.
 */
export function fitRagPrompt(codec: SequenceCodec, query: TaskFields, shots: readonly (TaskFields & { output: string })[], reserve: number, opts: PromptOptions, where: string): RagPrompt {
  const q = fitPrompt(codec, query, reserve, opts, where); // the prompt without retrieval, cut only as it would be then
  const start = startTokens(codec, opts.start).length;
  let room = opts.contextLength + 1 - reserve - q.ids.length;
  const blocks: number[][] = [];
  let shortened = 0;
  let dropped = 0;
  const kept: number[] = [];
  for (const [i, shot] of shots.entries()) {
    const answer = Array.from(codec.encode(renderAnswer(opts.template, shot.output) + opts.template.separator, { allowSpecial: opts.allowSpecial ?? false }));
    let p: FittedPrompt | null = null;
    if (room > answer.length) {
      try {
        p = fitPrompt(codec, shot, answer.length, { ...opts, start: 'none', overflow: 'truncate', contextLength: room - 1 }, where);
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
      }
    }
    if (!p || (p.inputKept === 0 && p.inputChars > 0)) {
      dropped++;
      continue;
    }
    if (p.inputKept < p.inputChars) shortened++;
    blocks.push([...p.ids, ...answer]);
    kept.push(i);
    room -= p.ids.length + answer.length;
  }
  const ids = q.ids.slice(0, start);
  for (let i = blocks.length - 1; i >= 0; i--) ids.push(...blocks[i]);
  ids.push(...q.ids.slice(start));
  return { ids, inputKept: q.inputKept, inputChars: q.inputChars, used: blocks.length, kept, shortened, dropped };
}
