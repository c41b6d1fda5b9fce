// Text generation with the training model's GPT-2: textgen.ts's loop over the model's shared KV-cache decoder
// (one cache per model, reused by every generation; its buffers live in the model's allocator).
import { KVDecoder } from './decode.js';
import type { GPT2 } from './model.js';
import { decodeText, decodeTokens, type GenerateOptions, type GenerateTextOptions, type GenerateTextResult, type TextCodec } from './textgen.js';

export type { GenerateOptions, GenerateTextOptions, GenerateTextResult, TextCodec } from './textgen.js';

const decoders = new WeakMap<GPT2, KVDecoder>();
function decoderFor(model: GPT2): KVDecoder {
  let d = decoders.get(model);
  if (!d) {
    d = new KVDecoder(model);
    decoders.set(model, d);
  }
  return d;
}

/** Yields sampled token ids one by one. An empty prompt must be avoided: start from e.g. the EOT token. */
export function generateTokens(model: GPT2, prompt: ArrayLike<number>, opts: GenerateOptions): Generator<number> {
  return decodeTokens(decoderFor(model), prompt, opts);
}

/** Generates a continuation of `prompt` (an empty prompt starts from the end-of-text token). */
export function generateText(model: GPT2, codec: TextCodec, prompt: string, opts: GenerateTextOptions): GenerateTextResult {
  return decodeText(decoderFor(model), codec, prompt, opts);
}
