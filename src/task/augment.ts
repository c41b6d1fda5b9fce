// A row's input augmented: its series shifted (--shift, shift.ts) and scaled about their median (--gain, gain.ts), then
// its numbers jittered (--jitter, jitter.ts). Training draws a new one each time a row is drawn (augmentedExample),
// evaluation scores several per row (eval/tta.ts). All keep what the run planned for: a shift or gain that would make
// the row longer than the longest training row, or cut an input that was whole, is not made, and a jitter move never
// changes a token count (under a rescaling template, one whose rescaled row would not fit is not made).
import type { Rng } from '../util/rng.js';
import { encodeExample, type EncodedExample, type PromptOptions } from './encode.js';
import { gainSeries } from './gain.js';
import { jitterNumbers } from './jitter.js';
import type { TaskExample } from './read.js';
import type { SequenceCodec } from './sequence.js';
import { shiftSeries } from './shift.js';

export interface Augmentation {
  /** Numbers move by up to this many units of their last digit (0 = off). */
  jitter: number;
  /** Series move by up to this many readings (0 = off). */
  shift: number;
  /** Series' deviations from their median are scaled by a factor in [1/gain, gain] (≤ 1 = off). */
  gain: number;
  /** jitterNumbers' `keep` (sameTokenCount of the tokenizer). */
  keep: (before: string, after: string, prev: string) => boolean;
}

/** True when the augmentation rewrites series (a shift or a gain), which `accept` must then approve. */
export const movesSeries = (aug: Augmentation): boolean => aug.shift > 0 || aug.gain > 1;

/**
 * `input` augmented, drawing from `rng`: a shift of up to ±aug.shift readings (drawn first, when on) and a gain
 * (drawn next, when on), taken together if `accept` takes them, then the jitter. What `accept` refuses leaves the
 * series as they were.
 */
export function augmentInput(input: string, aug: Augmentation, rng: Rng, accept: (moved: string) => boolean): string {
  let out = input;
  if (movesSeries(aug)) {
    let moved = input;
    if (aug.shift > 0) {
      const d = rng.int(2 * aug.shift + 1) - aug.shift;
      if (d !== 0) moved = shiftSeries(moved, d);
    }
    if (aug.gain > 1) moved = gainSeries(moved, aug.gain, rng);
    if (moved !== input && accept(moved)) out = moved;
  }
  return jitterNumbers(out, aug.jitter, rng, aug.keep);
}

/**
 * `row` encoded with its input augmented, drawing from `rng`. `original` is the row's plain encoding and `maxLength`
 * the longest training sequence in tokens.
 */
export function augmentedExample(codec: SequenceCodec, row: TaskExample, original: EncodedExample, aug: Augmentation, rng: Rng, prompt: PromptOptions, maxLength: number): EncodedExample {
  const wasCut = original.inputKept < original.inputChars;
  const fits = (e: EncodedExample) => (wasCut || e.inputKept === e.inputChars) && e.ids.length <= maxLength;
  let movedExample: EncodedExample | null = null;
  const input = augmentInput(row.input, aug, rng, (moved) => {
    const e = encodeExample(codec, { ...row, input: moved }, { ...prompt, overflow: 'truncate' });
    const ok = fits(e);
    if (ok) movedExample = e;
    return ok;
  });
  if (aug.jitter <= 0 && movedExample) return movedExample; // already encoded
  // a jitter keeps the token count of the readings as written, but a rescaling template writes them anew: kept if it fits
  const e = encodeExample(codec, { ...row, input }, { ...prompt, overflow: 'truncate' });
  return fits(e) ? e : (movedExample ?? original);
}
