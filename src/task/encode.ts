// Task examples → token ids for fine-tuning and evaluation: ids = start tokens + prompt + answer, with
// the loss on the answer and its end marker only (or also on some of the prompt's tokens, or on every token as
// TinyLLM's trainer does).
// The prompt and the answer are encoded separately, so training sees exactly the prompt tokens that
// generation and eval later feed. The answer is never cut: a prompt too long for the context has its
// input shortened (at a whitespace boundary when there is one) and the row reported, or is refused.
import { UserError } from '../util/errors.js';
import type { Rng } from '../util/rng.js';
import { encodeSequence, type SequenceCodec, type SequenceStart } from './sequence.js';
import { inputAsWritten, renderAnswer, renderPrompt, type PromptTemplate, type TaskFields } from './template.js';

export type Overflow = 'truncate' | 'refuse';

export interface PromptOptions {
  template: PromptTemplate;
  /** Default 'endoftext'. */
  start?: SequenceStart;
  /** The model's context (block size): a sequence feeds at most this many tokens. */
  contextLength: number;
  /** What to do with a prompt that does not fit: shorten its input (default) or refuse. */
  overflow?: Overflow;
  /** Special-token text in the data becomes special ids (default: plain text). */
  allowSpecial?: boolean;
}

export interface FittedPrompt {
  /** Start tokens + prompt. */
  ids: number[];
  /** Characters of the input (as the template writes it) that were kept, and how many it had (equal when not cut). */
  inputKept: number;
  inputChars: number;
}

export interface EncodedExample {
  /** Start tokens + prompt + answer (answer = output + end marker). */
  ids: Int32Array;
  /** Tokens before the answer (start + prompt). */
  promptLength: number;
  inputKept: number;
  inputChars: number;
  where: string;
}

/** A cut row, for the per-row report. */
export interface CutReport {
  where: string;
  inputChars: number;
  inputKept: number;
}

/**
 * The prompt's ids, its input shortened if needed so that `reserve` more tokens (the answer) still fit in
 * contextLength + 1 tokens (a sequence of n tokens trains n − 1 positions). Throws a UserError naming
 * `where` when it cannot fit, or when it would need cutting and overflow is 'refuse'.
 */
export function fitPrompt(codec: SequenceCodec, fields: TaskFields, reserve: number, opts: PromptOptions, where: string): FittedPrompt {
  const max = opts.contextLength + 1;
  // the input as the template writes it (series rescaled) is what gets cut, so a cut window is not rescaled anew
  const { series, ...template } = opts.template;
  const ex = series ? { instruction: fields.instruction, input: inputAsWritten(opts.template, fields.input) } : fields;
  const enc = (input: string) => encodeSequence(codec, renderPrompt(template, { instruction: ex.instruction, input }), { start: opts.start, allowSpecial: opts.allowSpecial });
  const full = enc(ex.input);
  const n = ex.input.length;
  if (full.length + reserve <= max) return { ids: full, inputKept: n, inputChars: n };
  const need = `${full.length} prompt + ${reserve} answer tokens do not fit the context of ${opts.contextLength}`;
  if (opts.overflow === 'refuse') throw new UserError(`${where}: ${need}; shorten the input, use a model with a longer context, or let the input be cut (--overflow truncate)`);
  const empty = enc('');
  if (empty.length + reserve > max) throw new UserError(`${where}: ${need}, even with the input left out (${empty.length} prompt tokens); the instruction or the answer is too long for this model`);
  // Largest kept length k with a fitting prompt (binary search; token count grows with k).
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (enc(cutAt(ex.input, mid)).length + reserve <= max) lo = mid;
    else hi = mid - 1;
  }
  // Prefer ending at whitespace, so no reading is cut in half.
  const ws = Math.max(ex.input.lastIndexOf('\n', lo - 1), ex.input.lastIndexOf(' ', lo - 1));
  const kept = ws > 0 && lo < n && !/\s/.test(ex.input[lo]) ? ws : lo;
  const input = cutAt(ex.input, kept).trimEnd();
  return { ids: enc(input), inputKept: input.length, inputChars: n };
}

/** s[0, k) without splitting a surrogate pair. */
function cutAt(s: string, k: number): string {
  const c = s.charCodeAt(k - 1);
  return s.slice(0, c >= 0xd800 && c < 0xdc00 ? k - 1 : k);
}

/** The token ids of each label's answer as fine-tuning trains it (label + end marker, encoded on its own). */
export function labelCandidates(codec: SequenceCodec, labels: readonly string[], opts: Pick<PromptOptions, 'template' | 'allowSpecial'>): number[][] {
  return labels.map((l) => Array.from(codec.encode(renderAnswer(opts.template, l), { allowSpecial: opts.allowSpecial ?? false })));
}

/**
 * Per candidate of labelCandidates, how many of its first tokens ranking compares: the label's own tokens and the
 * one after them (the end marker's first, which tells "Tap" from "Tap twice"). The rest of the end marker is
 * formatting that follows any label; a fine-tuned model that doubts it after the right label (p 0.02 for the second
 * newline after "Entrance" on a row where it gives the label itself p 0.98) would otherwise rank a wrong label
 * first. The whole candidate where the label's own tokens are not where it starts (a merge across the boundary).
 */
export function decidingLengths(codec: SequenceCodec, labels: readonly string[], candidates: readonly ArrayLike<number>[], allowSpecial = false): number[] {
  return candidates.map((c, i) => {
    const own = codec.encode(labels[i], { allowSpecial });
    for (let j = 0; j < own.length; j++) if (c[j] !== own[j]) return c.length;
    return Math.min(own.length + 1, c.length);
  });
}

/** The ids of one example: fitted prompt + answer (output and end marker), never cut. */
export function encodeExample(codec: SequenceCodec, ex: TaskFields & { output: string; where: string }, opts: PromptOptions): EncodedExample {
  const answer = codec.encode(renderAnswer(opts.template, ex.output), { allowSpecial: opts.allowSpecial ?? false });
  const p = fitPrompt(codec, ex, answer.length, opts, ex.where);
  const ids = new Int32Array(p.ids.length + answer.length);
  ids.set(p.ids);
  for (let i = 0; i < answer.length; i++) ids[p.ids.length + i] = answer[i];
  return { ids, promptLength: p.ids.length, inputKept: p.inputKept, inputChars: p.inputChars, where: ex.where };
}

export interface EncodedTask {
  examples: EncodedExample[];
  /** Rows whose input was cut. */
  cut: CutReport[];
  /** Longest sequence in tokens. */
  maxLength: number;
}

/** Encodes every example; the cut rows are listed (see describeCuts). */
export function encodeTask(codec: SequenceCodec, rows: readonly (TaskFields & { output: string; where: string })[], opts: PromptOptions): EncodedTask {
  const examples = rows.map((r) => encodeExample(codec, r, opts));
  const cut = examples.filter((e) => e.inputKept < e.inputChars).map(({ where, inputChars, inputKept }) => ({ where, inputChars, inputKept }));
  return { examples, cut, maxLength: examples.reduce((m, e) => Math.max(m, e.ids.length), 0) };
}

/** One line per cut row (at most `limit`) and a summary line. */
export function describeCuts(name: string, task: EncodedTask, contextLength: number, limit = 10): string[] {
  if (task.cut.length === 0) return [];
  const lines = task.cut.slice(0, limit).map((c) => `${c.where}: input cut to ${c.inputKept} of ${c.inputChars} characters to fit the context`);
  if (task.cut.length > limit) lines.push(`… and ${task.cut.length - limit} more`);
  lines.push(`${name}: ${task.cut.length} of ${task.examples.length} rows had their input cut to fit the model's context of ${contextLength} tokens (answers are never cut; a model with a longer context, e.g. pretrain --block-size 1024, keeps whole rows; --overflow refuse makes this an error)`);
  return lines;
}

/**
 * Prompt tokens that also carry a loss: a share of each row's prompt (0 = none, the answer and end marker only; 1 =
 * all, as TinyLLM's trainer), or a number of them per row (`tokens`, all of a shorter prompt), which keeps the same
 * balance against the answer whatever the prompt's length. Fewer than all are drawn from `rng` without replacement,
 * afresh for every row: self-supervision on the input (the model also predicts its readings) at a fraction of the LM
 * head's cost of training on every token.
 */
export interface PromptLoss {
  share: number;
  /** When set: this many prompt tokens per row instead of `share` of them. */
  tokens?: number;
  rng?: Rng;
}

/** How many of `positions` prompt positions `prompt` puts a loss on. */
export function promptLossCount(prompt: PromptLoss, positions: number): number {
  if (prompt.tokens !== undefined) return Math.min(Math.max(0, prompt.tokens), positions);
  return prompt.share >= 1 ? positions : Math.round(Math.max(0, prompt.share) * positions);
}

/** Where the loss falls, for a run's log: 'answers + end marker + 5% of the prompt tokens'. */
export function describePromptLoss(prompt: PromptLoss): string {
  if (prompt.tokens === undefined && prompt.share >= 1) return 'all tokens';
  const some = prompt.tokens !== undefined ? (prompt.tokens > 0 ? `up to ${prompt.tokens} prompt tokens per row` : '') : prompt.share > 0 ? `${(100 * prompt.share).toFixed(0)}% of the prompt tokens` : '';
  return `answers + end marker${some ? ` + ${some}` : ''}`;
}

/**
 * Targets of one example for next-token training, written to `out` (length ≥ T) for positions
 * 0..T-1: position t predicts ids[t+1]; positions before the answer (but those `prompt` picks) and past the
 * end are -1 (ignored). Returns the number of counted targets.
 */
export function exampleTargets(ex: EncodedExample, out: Int32Array, T: number, prompt: PromptLoss = { share: 0 }): number {
  const n = ex.ids.length;
  const answerFrom = ex.promptLength - 1; // position promptLength − 1 predicts the answer's first token
  let want = promptLossCount(prompt, answerFrom);
  const all = want >= answerFrom;
  if (want > 0 && !all && !prompt.rng) throw new Error('exampleTargets: a prompt loss on some of the prompt tokens needs an rng');
  let count = 0;
  for (let t = 0; t < T; t++) {
    let counted = t + 1 < n && t >= answerFrom;
    // selection sampling (Knuth's algorithm S): each of the answerFrom − t prompt positions left is taken with
    // probability want / (answerFrom − t), which takes exactly `want` of them
    if (t < answerFrom && want > 0 && (all || (prompt.rng as Rng).random() * (answerFrom - t) < want)) {
      counted = t + 1 < n;
      want--;
    }
    out[t] = counted ? ex.ids[t + 1] : -1;
    if (counted) count++;
  }
  return count;
}
