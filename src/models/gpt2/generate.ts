// Text generation with the training model's GPT-2: textgen.ts's loop over the model's shared KV-cache decoder
// (one cache per model, reused by every generation; its buffers live in the model's allocator), or a given one.
import { sharedDecoder, type KVDecoder } from './decode.js';
import { DEFAULT_SEQUENCE_START } from '../../task/sequence.js';
import type { GPT2 } from './model.js';
import { decodeIds, decodeText, decodeTokens, type GenerateOptions, type GenerateTextOptions, type GenerateTextResult, type TextCodec } from './textgen.js';

export type { GenerateOptions, GenerateTextOptions, GenerateTextResult, TextCodec } from './textgen.js';

/** Which KV cache to use (default: the model's shared one); afterwards it holds the prompt and the generated tokens. */
export interface DecoderChoice {
  decoder?: KVDecoder;
}

/** Yields sampled token ids one by one. An empty prompt must be avoided: start from e.g. the EOT token. */
export function generateTokens(model: GPT2, prompt: ArrayLike<number>, opts: GenerateOptions & DecoderChoice): Generator<number> {
  return decodeTokens(opts.decoder ?? sharedDecoder(model), prompt, opts);
}

/**
 * Generates a continuation of `prompt`, started by opts.start (default <|endoftext|> first, as training documents
 * start; an empty sequence starts from the end-of-text token).
 */
export function generateText(model: GPT2, codec: TextCodec, prompt: string, opts: GenerateTextOptions & DecoderChoice): GenerateTextResult {
  return decodeText(opts.decoder ?? sharedDecoder(model), codec, prompt, { start: DEFAULT_SEQUENCE_START, ...opts });
}

/** Generates a continuation of prompt ids that already begin as the sequence-start rule says. */
export function generateTextFromIds(model: GPT2, codec: TextCodec, ids: ArrayLike<number>, opts: GenerateOptions & Pick<GenerateTextOptions, 'stopStrings' | 'onText'> & DecoderChoice): GenerateTextResult {
  return decodeIds(opts.decoder ?? sharedDecoder(model), codec, ids, opts);
}
