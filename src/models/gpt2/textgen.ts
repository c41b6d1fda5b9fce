// Text generation over any KV-cache decoder (the training model's KVDecoder, the runtime's int8 Decoder): prefill
// the prompt, then sample one token at a time (seeded), stopping at a stop token, a stop string or max tokens.
// When the context fills the cache, it is rebuilt from the last half of it (sliding window). Text streams through
// the tokenizer's streaming decoder so multi-byte characters are never split.
import type { FloatArray } from '../../kernels/types.js';
import type { EncodeOptions } from '../../tokenizer/types.js';
import { Rng } from '../../util/rng.js';
import { Sampler, type SamplingOptions } from './sampling.js';

/** What generation needs from a decoder (block-decode.ts's CacheDecoder satisfies it). */
export interface TokenDecoder {
  readonly pos: number;
  readonly capacity: number;
  readonly config: { vocabSize: number };
  reset(): void;
  /** Appends tokens and returns the logits (V) after the last one. */
  feed(tokens: ArrayLike<number>): FloatArray;
  /** Rewinds to the longest prefix of tokens (at most max) the cache holds; returns its length. */
  rewindToShared(tokens: ArrayLike<number>, max?: number): number;
}

export interface GenerateOptions extends SamplingOptions {
  /** Tokens to generate at most. */
  maxTokens: number;
  /** Generation ends when one of these is sampled (it is not yielded). */
  stopTokens?: number[];
  /** Seed of the sampling Rng (ignored when rng is given). Default 1337. */
  seed?: number;
  rng?: Rng;
  /** Only ids below this are sampled (default: the model's vocabulary; less when it is padded past the tokenizer's). */
  sampleVocab?: number;
  /** Keep the prefix the decoder's cache shares with the prompt (the weights must be those that filled it). */
  reuse?: boolean;
}

/** Yields sampled token ids one by one. An empty prompt must be avoided: start from e.g. the EOT token. */
export function* decodeTokens(dec: TokenDecoder, prompt: ArrayLike<number>, opts: GenerateOptions): Generator<number> {
  if (prompt.length === 0) throw new Error('generateTokens: empty prompt (start from the end-of-text token)');
  const blockSize = dec.capacity;
  const rng = opts.rng ?? new Rng(opts.seed ?? 1337);
  const sampler = new Sampler(Math.min(opts.sampleVocab ?? Infinity, dec.config.vocabSize), opts);
  const stops = new Set(opts.stopTokens ?? []);
  const context = Array.from(prompt);
  // a prompt longer than the block keeps its tail
  const tail = context.slice(-blockSize);
  if (!opts.reuse) dec.reset();
  let logits = dec.feed(tail.slice(opts.reuse ? dec.rewindToShared(tail, tail.length - 1) : 0));
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
export interface TextCodec {
  /** Encoding options are those of src/task/sequence.ts's SequenceCodec (special tokens as text or ids). */
  encode(text: string, opts?: EncodeOptions): ArrayLike<number>;
  createStreamDecoder(): { push(id: number): string; flush(): string };
  eotToken: number;
  /** Ids the tokenizer can decode (generation samples no others). */
  vocabSize?: number;
}

export interface GenerateTextOptions extends GenerateOptions {
  /** Generation ends when the text contains one of these (the stop string itself is not emitted). */
  stopStrings?: string[];
  /** Called with each new piece of text as soon as it is final. */
  onText?: (piece: string) => void;
}

export interface GenerateTextResult {
  text: string;
  tokens: number[];
  /** Why it ended. */
  reason: 'max-tokens' | 'stop-token' | 'stop-string';
}

/** Generates a continuation of `prompt` (an empty prompt starts from the end-of-text token). */
export function decodeText(dec: TokenDecoder, codec: TextCodec, prompt: string, opts: GenerateTextOptions): GenerateTextResult {
  return decodeTextFromIds(dec, codec, promptIds(codec, prompt), opts);
}

/** Generates a continuation of prompt ids (streamed to opts.onText). */
export function decodeTextFromIds(dec: TokenDecoder, codec: TextCodec, ids: ArrayLike<number>, opts: GenerateTextOptions): GenerateTextResult {
  const steps = textSteps(dec, codec, ids, opts);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (step.value) opts.onText?.(step.value);
  }
}

/**
 * decodeText one token at a time from prompt ids (see promptIds): yields after every sampled token the text that became final with it ('' when
 * none did), and returns the result. A caller can pause between tokens (a server yields to its event loop) or
 * stop (return()) at any yield.
 */
export function* textSteps(dec: TokenDecoder, codec: TextCodec, ids: ArrayLike<number>, opts: GenerateOptions & { stopStrings?: string[] }): Generator<string, GenerateTextResult> {
  const stopStrings = (opts.stopStrings ?? []).filter((s) => s.length > 0);
  const decoder = codec.createStreamDecoder();
  const tokens: number[] = [];
  let text = '';
  let emitted = 0; // text[0..emitted) was yielded
  const take = (upto: number): string => {
    const piece = upto > emitted ? text.slice(emitted, upto) : '';
    emitted = Math.max(emitted, upto);
    return piece;
  };
  let reason: GenerateTextResult['reason'] = 'stop-token';
  for (const id of decodeTokens(dec, ids, { stopTokens: [codec.eotToken], sampleVocab: codec.vocabSize, ...opts })) {
    tokens.push(id);
    text += decoder.push(id);
    const hit = firstStop(text, stopStrings, Math.max(0, emitted - maxLen(stopStrings)));
    if (hit >= 0) {
      text = text.slice(0, hit);
      yield take(hit);
      return { text, tokens, reason: 'stop-string' };
    }
    if (tokens.length === opts.maxTokens) reason = 'max-tokens';
    // hold back a tail that could still grow into a stop string
    yield take(text.length - heldBack(text, stopStrings));
  }
  text += decoder.flush();
  const hit = firstStop(text, stopStrings, 0);
  if (hit >= 0) {
    text = text.slice(0, hit);
    reason = 'stop-string';
  }
  const rest = take(text.length);
  if (rest) yield rest;
  return { text, tokens, reason };
}

/**
 * The text that generation stopping at `stopStrings` makes of `tokens` when it samples exactly them, with the
 * number of tokens it takes; null when no stop string ends the text within them (generation would go on).
 */
export function stoppedText(codec: Pick<TextCodec, 'createStreamDecoder' | 'eotToken'>, tokens: ArrayLike<number>, stopStrings: string[]): { text: string; tokens: number } | null {
  const stops = stopStrings.filter((s) => s.length > 0);
  const decoder = codec.createStreamDecoder();
  let text = '';
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === codec.eotToken) {
      // the end-of-text token stops generation unwritten
      text += decoder.flush();
      const hit = firstStop(text, stops, 0);
      return { text: hit >= 0 ? text.slice(0, hit) : text, tokens: i };
    }
    text += decoder.push(tokens[i]);
    if (i === tokens.length - 1) text += decoder.flush();
    const hit = firstStop(text, stops, 0);
    if (hit >= 0) return { text: text.slice(0, hit), tokens: i + 1 };
  }
  return null;
}

/** The token ids generation starts from: the prompt's, or the end-of-text token for an empty prompt. */
export function promptIds(codec: Pick<TextCodec, 'encode' | 'eotToken'>, prompt: string): number[] {
  return prompt === '' ? [codec.eotToken] : Array.from(codec.encode(prompt));
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
