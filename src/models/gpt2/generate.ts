// Text generation with the training model's GPT-2: textgen.ts's loop over a KV-cache decoder (by default the
// model's shared one, whose buffers live in the model's allocator), with prompts started by the sequence-start
// rule (src/task/sequence.ts).
import { encodeSequence, type SequenceStart } from '../../task/sequence.js';
import { sharedDecoder, type KVDecoder } from './decode.js';
import type { GPT2 } from './model.js';
import { decodeTextFromIds, decodeTokens, type GenerateOptions, type GenerateTextOptions, type GenerateTextResult, type TextCodec } from './textgen.js';

export type { GenerateTextResult, TextCodec } from './textgen.js';

export interface ModelGenerateOptions extends GenerateOptions {
  /** KV cache to use (default: the model's shared one); afterwards it holds the prompt and the generated tokens. */
  decoder?: KVDecoder;
}

export interface ModelGenerateTextOptions extends ModelGenerateOptions, Pick<GenerateTextOptions, 'stopStrings' | 'onText'> {
  /** How the prompt's sequence starts (src/task/sequence.ts; default <|endoftext|>, as training documents). */
  start?: SequenceStart;
  /** Special-token text in the prompt becomes special ids (default: plain text). */
  allowSpecial?: boolean;
}

/** Yields sampled token ids one by one. An empty prompt must be avoided: start from e.g. the EOT token. */
export function generateTokens(model: GPT2, prompt: ArrayLike<number>, opts: ModelGenerateOptions): Generator<number> {
  return decodeTokens(opts.decoder ?? sharedDecoder(model), prompt, opts);
}

/** Generates a continuation of `prompt`, started by the sequence-start rule (an empty sequence starts from the end-of-text token). */
export function generateText(model: GPT2, codec: TextCodec, prompt: string, opts: ModelGenerateTextOptions): GenerateTextResult {
  const ids = encodeSequence(codec, prompt, { start: opts.start, allowSpecial: opts.allowSpecial });
  if (ids.length === 0) ids.push(codec.eotToken);
  return generateTextFromIds(model, codec, ids, opts);
}

/** Generates a continuation of prompt ids that already begin as the sequence-start rule says. */
export function generateTextFromIds(model: GPT2, codec: TextCodec, ids: ArrayLike<number>, opts: ModelGenerateOptions & Pick<GenerateTextOptions, 'stopStrings' | 'onText'>): GenerateTextResult {
  return decodeTextFromIds(opts.decoder ?? sharedDecoder(model), codec, ids, opts);
}
