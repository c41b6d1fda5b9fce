// Numeric jitter, a training-time augmentation for small sensor data sets: every number in a row's input moves by a
// random whole number of units of its own last digit (139 → 137..141 for --jitter 2, 27.02 → 27.00..27.04), decimals
// and leading zeros kept, so a reading's value barely changes while its exact token sequence does: the standard
// jitter augmentation of sensor time series, in text. A model that cannot memorise token sequences must learn the pattern.
import type { Rng } from '../util/rng.js';

/** An unsigned decimal number: digits, optionally a point and more digits (a sign stays as it is, outside). */
const NUMBER = /\d+(?:\.\d+)?/g;

/**
 * `text` with every number moved by a uniform integer in [−k, k] units of its last digit. A move that would make
 * the number negative, or that `keep(before, after, prev)` rejects (`prev`: the character before the number, '' at
 * the start; e.g. a move that changes its token count), is redrawn up to three times and otherwise left out.
 * Deterministic for a given generator state.
 */
export function jitterNumbers(text: string, k: number, rng: Rng, keep: (before: string, after: string, prev: string) => boolean = () => true): string {
  if (k <= 0) return text;
  return text.replace(NUMBER, (s: string, at: number) => {
    const point = s.indexOf('.');
    const decimals = point < 0 ? 0 : s.length - point - 1;
    const units = BigInt(s.replace('.', '')); // exact for readings of any length
    for (let tries = 0; tries < 4; tries++) {
      const moved = units + BigInt(rng.int(2 * k + 1) - k);
      if (moved < 0n) continue;
      const after = withDecimals(moved, decimals, s[0] === '0' ? s.length - (point < 0 ? 0 : 1) : 0);
      if (keep(s, after, at > 0 ? text[at - 1] : '')) return after;
    }
    return s;
  });
}

/** Integer units of 10^−decimals written with exactly that many decimals and at least `width` digits (5n, 2 → "0.05"). */
function withDecimals(units: bigint, decimals: number, width: number): string {
  const digits = units.toString().padStart(Math.max(width, decimals + 1), '0');
  if (decimals === 0) return digits;
  return `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}

/**
 * A `keep` for jitterNumbers that accepts only moves keeping the number's token count under `codec`. A number is
 * its own BPE piece (GPT-2's pre-tokenizer splits digit runs from their neighbours, a space before them joining
 * them), so the count is that of the number alone, with the space when one precedes it.
 */
export function sameTokenCount(codec: { encode(text: string): ArrayLike<number> }): (before: string, after: string, prev: string) => boolean {
  const count = (num: string, prev: string) => codec.encode(prev === ' ' ? ` ${num}` : num).length;
  return (before, after, prev) => count(before, prev) === count(after, prev);
}
