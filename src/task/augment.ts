// A drawn training row, augmented and encoded again: its input's series shifted (--shift, shift.ts), then its numbers
// jittered (--jitter, jitter.ts). Both keep what the run planned for: a shift that would make the row longer than the
// longest training row, or cut an input that was whole, is not made, and a jitter move never changes a token count.
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
 * `row` encoded with its input augmented, drawing from `rng` (the shift first, when on, then the jitter). `original` is
 * the row's plain encoding and `maxLength` the longest training sequence in tokens.
 */
export function augmentedExample(codec: SequenceCodec, row: TaskExample, original: EncodedExample, aug: Augmentation, rng: Rng, prompt: PromptOptions, maxLength: number): EncodedExample {
  let input = row.input;
  if (aug.shift > 0) {
    const d = rng.int(2 * aug.shift + 1) - aug.shift;
    const shifted = d === 0 ? input : shiftSeries(input, d);
    if (shifted !== input) {
      const e = encodeExample(codec, { ...row, input: shifted }, { ...prompt, overflow: 'truncate' });
      const wasCut = original.inputKept < original.inputChars;
      if ((wasCut || e.inputKept === e.inputChars) && e.ids.length <= maxLength) {
        if (aug.jitter <= 0) return e;
        input = shifted;
      }
    }
  }
  return encodeExample(codec, { ...row, input: jitterNumbers(input, aug.jitter, rng, aug.keep) }, prompt);
}
