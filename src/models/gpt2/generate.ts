// Text generation with a GPT-2: prefill the prompt into a KV cache, then sample one token at a time
// (seeded), stopping at a stop token, a stop string or max tokens. When the context fills the block size,
// the cache is rebuilt from the last half of it (sliding window). Text streams through the tokenizer's
// streaming decoder so multi-byte characters are never split.
import { encodeSequence, type SequenceCodec, type SequenceStart } from '../../task/sequence.js';
import { Rng } from '../../util/rng.js';
import { sharedDecoder, type KVDecoder } from './decode.js';
import type { GPT2 } from './model.js';
import { Sampler, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  maxTokens: number;
  /** Generation ends when one of these is sampled (it is not yielded). */
  stopTokens?: number[];
  /** Seed of the sampling Rng (ignored when rng is given). Default 1337. */
  seed?: number;
  rng?: Rng;
  /** KV cache to use (default: the model's shared one); afterwards it holds the prompt and the generated tokens. */
  decoder?: KVDecoder;
}

/** Yields sampled token ids one by one. An empty prompt must be avoided: start from e.g. the EOT token. */
export function* generateTokens(model: GPT2, prompt: ArrayLike<number>, opts: GenerateOptions): Generator<number> {
  if (prompt.length === 0) throw new Error('generateTokens: empty prompt (start from the end-of-text token)');
  const { blockSize, vocabSize } = model.config;
  const rng = opts.rng ?? new Rng(opts.seed ?? 1337);
  const sampler = new Sampler(vocabSize, opts);
  const stops = new Set(opts.stopTokens ?? []);
  const dec = opts.decoder ?? sharedDecoder(model);
  dec.reset();
  const context = Array.from(prompt);
  // a prompt longer than the block keeps its tail
  let logits = dec.feed(context.slice(-blockSize));
  for (let n = 0; n < opts.maxTokens; n++) {
    const next = sampler.sample(logits, rng, context);
    if (stops.has(next)) return;
    context.push(next);
    yield next;
    if (n + 1 === opts.maxTokens) return;
    if (dec.pos === dec.capacity) {
      dec.reset();
      logits = dec.feed(context.slice(-Math.max(1, Math.floor(blockSize / 2))));
    } else {
      logits = dec.feed([next]);
    }
  }
}

/** What text generation needs from a tokenizer (src/tokenizer's Tokenizer satisfies it). */
export interface TextCodec extends SequenceCodec {
  createStreamDecoder(): { push(id: number): string; flush(): string };
}

export interface GenerateTextOptions extends GenerateOptions {
  /** Generation ends when the text contains one of these (the stop string itself is not emitted). */
  stopStrings?: string[];
  /** Called with each new piece of text as soon as it is final. */
  onText?: (piece: string) => void;
  /** How the prompt's sequence starts (src/task/sequence.ts; default <|endoftext|>, as training documents). */
  start?: SequenceStart;
  /** Special-token text in the prompt becomes special ids (default: plain text). */
  allowSpecial?: boolean;
}

export interface GenerateTextResult {
  text: string;
  tokens: number[];
  /** Why it ended. */
  reason: 'max-tokens' | 'stop-token' | 'stop-string';
}

/** Generates a continuation of `prompt`, started by the sequence-start rule (an empty sequence starts from the end-of-text token). */
export function generateText(model: GPT2, codec: TextCodec, prompt: string, opts: GenerateTextOptions): GenerateTextResult {
  const ids = encodeSequence(codec, prompt, { start: opts.start, allowSpecial: opts.allowSpecial });
  if (ids.length === 0) ids.push(codec.eotToken);
  return generateTextFromIds(model, codec, ids, opts);
}

/** Generates a continuation of prompt ids that already begin as the sequence-start rule says. */
export function generateTextFromIds(model: GPT2, codec: TextCodec, ids: ArrayLike<number>, opts: GenerateOptions & Pick<GenerateTextOptions, 'stopStrings' | 'onText'>): GenerateTextResult {
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  const decoder = codec.createStreamDecoder();
  const tokens: number[] = [];
  let text = '';
  let emitted = 0; // text[0..emitted) went to onText
  const emit = (upto: number) => {
    if (upto > emitted) opts.onText?.(text.slice(emitted, upto));
    emitted = Math.max(emitted, upto);
  };
  let reason: GenerateTextResult['reason'] = 'stop-token';
  for (const id of generateTokens(model, ids, { stopTokens: [codec.eotToken], ...opts })) {
    tokens.push(id);
    text += decoder.push(id);
    const hit = firstStop(text, stopStrings, Math.max(0, emitted - maxLen(stopStrings)));
    if (hit >= 0) {
      text = text.slice(0, hit);
      emit(hit);
      return { text, tokens, reason: 'stop-string' };
    }
    // hold back a tail that could still grow into a stop string
    emit(text.length - heldBack(text, stopStrings));
    if (tokens.length === opts.maxTokens) reason = 'max-tokens';
  }
  text += decoder.flush();
  const hit = firstStop(text, stopStrings, 0);
  if (hit >= 0) {
    text = text.slice(0, hit);
    reason = 'stop-string';
  }
  emit(text.length);
  return { text, tokens, reason };
}

function maxLen(strings: string[]): number {
  return strings.reduce((m, s) => Math.max(m, s.length), 0);
}

function firstStop(text: string, stops: string[], from: number): number {
  let best = -1;
  for (const s of stops) {
    const i = text.indexOf(s, from);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** Length of the longest suffix of text that is a proper prefix of a stop string. */
function heldBack(text: string, stops: string[]): number {
  let hold = 0;
  for (const s of stops) {
    for (let n = Math.min(s.length - 1, text.length); n > hold; n--) {
      if (text.endsWith(s.slice(0, n))) {
        hold = n;
        break;
      }
    }
  }
  return hold;
}
