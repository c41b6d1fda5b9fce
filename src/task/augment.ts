// A row's input augmented: its series shifted (--shift, shift.ts), then its numbers jittered (--jitter, jitter.ts).
// Training draws a new one each time a row is drawn (augmentedExample), evaluation scores several per row (eval/tta.ts).
// Both keep what the run planned for: a shift that would make the row longer than the longest training row, or cut
// an input that was whole, is not made, and a jitter move never changes a token count.
import type { Rng } from '../util/rng.js';
import { encodeExample, type EncodedExample, type PromptOptions } from './encode.js';
import { jitterNumbers } from './jitter.js';
import type { TaskExample } from './read.js';
import type { SequenceCodec } from './sequence.js';
import { shiftSeries } from './shift.js';

export interface Augmentation {
  /** Numbers move by up to this many units of their last digit (0 = off). */
  jitter: number;
  /** Series move by up to this many readings (0 = off). */
  shift: number;
  /** jitterNumbers' `keep` (sameTokenCount of the tokenizer). */
  keep: (before: string, after: string, prev: string) => boolean;
}

/**
 * `input` augmented, drawing from `rng`: a shift of up to ±aug.shift readings (drawn first, when on) that `accept`
 * takes, then the jitter. A shift `accept` refuses leaves the series where they were.
 */
export function augmentInput(input: string, aug: Augmentation, rng: Rng, accept: (shifted: string) => boolean): string {
  let out = input;
  if (aug.shift > 0) {
    const d = rng.int(2 * aug.shift + 1) - aug.shift;
    const shifted = d === 0 ? input : shiftSeries(input, d);
    if (shifted !== input && accept(shifted)) out = shifted;
  }
  return jitterNumbers(out, aug.jitter, rng, aug.keep);
}

/**
 * `row` encoded with its input augmented, drawing from `rng`. `original` is the row's plain encoding and `maxLength`
 * the longest training sequence in tokens.
 */
export function augmentedExample(codec: SequenceCodec, row: TaskExample, original: EncodedExample, aug: Augmentation, rng: Rng, prompt: PromptOptions, maxLength: number): EncodedExample {
  const wasCut = original.inputKept < original.inputChars;
  let shiftedExample: EncodedExample | null = null;
  const input = augmentInput(row.input, aug, rng, (shifted) => {
    const e = encodeExample(codec, { ...row, input: shifted }, { ...prompt, overflow: 'truncate' });
    const ok = (wasCut || e.inputKept === e.inputChars) && e.ids.length <= maxLength;
    if (ok) shiftedExample = e;
    return ok;
  });
  if (aug.jitter <= 0 && shiftedExample) return shiftedExample; // already encoded
  return encodeExample(codec, { ...row, input }, prompt);
}
