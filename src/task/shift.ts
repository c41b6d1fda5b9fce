// Time shift, a training-time augmentation for windows of sensor readings: every series in a row's input (series.ts)
// moves by the same number of readings, the vacated end repeating the edge reading: the "window slicing"/shift
// augmentation of sensor time series (Um et al. 2017), in text. A model then sees each gesture at more places in its
// window; channels recorded side by side stay aligned.
import { mapSeries } from './series.js';

/**
 * `text` with every series shifted by `d` readings (d > 0: later, the first reading repeated d times at the start;
 * d < 0: earlier, the last repeated at the end). All series of a row move together. Separators and everything
 * around the series are kept character for character; a timestep written as a line moves with all its numbers.
 */
export function shiftSeries(text: string, d: number): string {
  if (d === 0) return text;
  return mapSeries(text, (values) => values.map((_, i) => values[Math.min(values.length - 1, Math.max(0, i - d))]));
}
