// How the runtime turns requests into token ids as training did, from a .tllm header's fine-tune fields: the
// sequence start, a plain prompt, a task request (instruction, input) in the fine-tune's prompt template fitted to
// the context as fine-tuning and eval fit a row (src/task/encode.ts), and each label's answer with the end marker.
import type { TllmFinetune } from '../export/tllm.js';
import { fitPrompt, labelCandidates } from '../task/encode.js';
import { DEFAULT_SEQUENCE_START, startTokens, type SequenceStart } from '../task/sequence.js';
import type { TaskFields } from '../task/template.js';
import type { BpeTokenizer } from '../tokenizer/bpe.js';
import type { LoadedModel } from './model.js';

/** The sequence-start rule a .tllm header records (finetune.startRule), or null when it records none. */
export function sequenceStartOf(finetune: TllmFinetune | undefined): SequenceStart | null {
  const rule = finetune?.startRule;
  if (rule === undefined) return null;
  return rule === '' || rule === 'none' ? 'none' : 'endoftext';
}

/**
 * The token ids a sequence starts with under the file's start rule (absent = <|endoftext|>, as `prepare` starts
 * every document): the one rule of src/task/sequence.ts.
 */
export function startIds(tok: BpeTokenizer, finetune: TllmFinetune | undefined): number[] {
  return startTokens(tok, sequenceStartOf(finetune) ?? DEFAULT_SEQUENCE_START);
}

/**
 * The ids of a task request to a fine-tuned model, built as fine-tuning and `tinyllm eval` build a row's prompt: the
 * start, then the file's prompt template with the instruction and input filled (the input alone without a template),
 * the input cut at a word boundary when `reserve` more tokens would not fit the context (UserError when even an empty
 * input does not fit). A request without an instruction gets the file's (the training rows' most common), as its rows
 * were trained. Returns the ids and the stop string that ends the answer (the template's end marker).
 */
export function taskPrompt(model: Pick<LoadedModel, 'tokenizer' | 'finetune' | 'config'>, request: { instruction?: string; input: string }, reserve: number): { ids: number[]; stop: string[] } {
  const { tokenizer: tok, finetune } = model;
  const fields: TaskFields = { instruction: request.instruction ?? finetune?.instruction ?? '', input: request.input };
  const template = finetune?.promptTemplate;
  if (!template) return { ids: promptIdsOf(model, fields.input, finetune?.allowSpecial), stop: [] };
  const opts = { template, start: sequenceStartOf(finetune) ?? DEFAULT_SEQUENCE_START, contextLength: model.config.blockSize, allowSpecial: finetune?.allowSpecial ?? false };
  return { ids: fitPrompt(tok, fields, reserve, opts, 'input').ids, stop: template.end ? [template.end] : [] };
}

/** The ids of each label's answer as fine-tuning trained it (label + end marker of the file's template; the label alone without one). */
export function labelIds(model: Pick<LoadedModel, 'tokenizer' | 'finetune'>, labels: readonly string[]): number[][] {
  const { tokenizer: tok, finetune } = model;
  const allowSpecial = finetune?.allowSpecial ?? false;
  if (finetune?.promptTemplate) return labelCandidates(tok, labels, { template: finetune.promptTemplate, allowSpecial });
  return labels.map((l) => Array.from(tok.encode(l, { allowSpecial })));
}

/** A prompt's ids for generation: the start ids, then the text (special-token text only when allowed). */
export function promptIdsOf(model: Pick<LoadedModel, 'tokenizer' | 'finetune'>, prompt: string, allowSpecial = false): number[] {
  const ids = [...startIds(model.tokenizer, model.finetune), ...model.tokenizer.encode(prompt, { allowSpecial })];
  return ids.length ? ids : [model.tokenizer.eotToken];
}
