// Rescale, a way of writing a row's input for the model: every series in it (series.ts: one channel over time) is
// written as whole numbers 0..99 of its own range (min-max normalisation per window, as sensor classifiers commonly
// normalise a window before reading it; LLMTime likewise rescales a series before writing it as digits), so that the
// shape of a window (when and for how long it rises or dips) reads the same at any level or gain, in one GPT-2 token
// per reading. The level itself is lost: for tasks that read shapes.
import { mapSeries } from './series.js';

/** The top of the scale: readings become 0..RESCALE_TOP, each one GPT-2 token (' 0'..' 99'). */
export const RESCALE_TOP = 99;

/** `text` with every series' readings written as rescaleReadings writes them; everything else as it was. */
export function rescaleSeries(text: string): string {
  return mapSeries(text, rescaleReadings);
}

/**
 * Readings mapped linearly from [min, max] onto 0..RESCALE_TOP and rounded: the smallest becomes 0, the largest
 * RESCALE_TOP, a constant series all 0.
 */
export function rescaleReadings(readings: string[]): string[] {
  const x = readings.map(Number);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const span = hi - lo;
  return x.map((v) => String(span > 0 ? Math.round(((v - lo) / span) * RESCALE_TOP) : 0));
}
