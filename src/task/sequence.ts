// Where a token sequence starts: the one rule shared by prepare, pre-training, fine-tuning, generate,
// eval and the server. By default every sequence starts with <|endoftext|>, as llm.c's data scripts
// put it before every document (so a prompt sits at the positions training documents did); 'none'
// is for models trained without it (e.g. most Hugging Face GPT-2 fine-tunes). Special tokens written
// in the text are ordinary text unless allowSpecial is set (tiktoken's allowed_special).
import type { EncodeOptions } from '../tokenizer/types.js';
import { UserError } from '../util/errors.js';

export type SequenceStart = 'endoftext' | 'none';
export const SEQUENCE_STARTS: readonly SequenceStart[] = ['endoftext', 'none'];
export const DEFAULT_SEQUENCE_START: SequenceStart = 'endoftext';

/** What the rule needs from a tokenizer (src/tokenizer's Tokenizer satisfies it). */
export interface SequenceCodec {
  readonly eotToken: number;
  encode(text: string, opts?: EncodeOptions): ArrayLike<number>;
}

export interface SequenceOptions {
  /** Default 'endoftext'. */
  start?: SequenceStart;
  /** Encode special-token text such as <|endoftext|> as the special id (default: as plain text). */
  allowSpecial?: boolean;
}

/** A `--sequence-start` value (or a value read from a run/checkpoint header). */
export function parseSequenceStart(s: string, where = '--sequence-start'): SequenceStart {
  if (!(SEQUENCE_STARTS as readonly string[]).includes(s)) throw new UserError(`${where}: '${s}' is not a sequence start; use ${SEQUENCE_STARTS.join(' or ')}`);
  return s as SequenceStart;
}

/** The tokens every sequence begins with. */
export function startTokens(codec: SequenceCodec, start: SequenceStart = DEFAULT_SEQUENCE_START): number[] {
  return start === 'endoftext' ? [codec.eotToken] : [];
}

/** The ids of a sequence (document or prompt) that begins with `text`: the start tokens, then the text. */
export function encodeSequence(codec: SequenceCodec, text: string, opts: SequenceOptions = {}): number[] {
  const ids = startTokens(codec, opts.start);
  const body = codec.encode(text, { allowSpecial: opts.allowSpecial ?? false });
  for (let i = 0; i < body.length; i++) ids.push(body[i]);
  return ids;
}
