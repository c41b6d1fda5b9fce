// The deployment runtime: load a .tllm model (tokenizer + weights, int8 used in place), decode with a KV cache
// (feed / rewind / fork / logits), and generate streamed text. It imports nothing from the training code
// (src/train, src/autograd, the training model), so dist/ runs it on a small device with plain Node 18.
import type { GenerateTextOptions, GenerateTextResult } from '../models/gpt2/textgen.js';
import { decodeTextFromIds } from '../models/gpt2/textgen.js';
import { Decoder } from './decoder.js';
import type { LoadedModel } from './model.js';
import { promptIdsOf } from './prompt.js';
import { perObject } from '../util/memo.js';

export { loadModel, type LoadedModel, type LoadModelOptions, type Matrix, type RuntimeWeights } from './model.js';
export { startIds, promptIdsOf, sequenceStartOf, taskPrompt, labelIds } from './prompt.js';
export { Decoder, type DecoderOptions } from './decoder.js';

/** The model's shared decoder (whole context, created on first use); generate() resets it. */
export const sharedModelDecoder: (model: LoadedModel) => Decoder = perObject((model: LoadedModel) => new Decoder(model));

/**
 * Continues `prompt` with the model's tokenizer, after the file's sequence start (<|endoftext|> unless the header
 * says otherwise, as training documents begin), streaming text through opts.onText; sampling, stop strings and max tokens as in textgen.ts. Pass a Decoder to choose its kernels/capacity.
 * A prompt given as token ids (e.g. a retrieval-augmented prompt, src/rag) is fed as it is.
 */
export function generate(model: LoadedModel | Decoder, prompt: string | readonly number[], opts: GenerateTextOptions): GenerateTextResult {
  const dec = model instanceof Decoder ? model : sharedModelDecoder(model);
  return decodeTextFromIds(dec, dec.model.tokenizer, typeof prompt === 'string' ? promptIdsOf(dec.model, prompt) : prompt, opts);
}
