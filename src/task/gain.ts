// Gain, a training-time augmentation for windows of sensor readings: each series in a row's input (series.ts) has the
// deviations of its readings from the series' median scaled by one random factor, drawn log-uniformly from [1/G, G]:
// the magnitude-scaling augmentation of sensor time series (Um et al. 2017) about the resting level, so an event (a
// dip, a peak) comes out deeper or shallower, as from a closer hand or another sensor, while the level stays.
import type { Rng } from '../util/rng.js';
import { mapSeries } from './series.js';

/** `text` with every series' deviations from its median scaled by its own factor in [1/G, G] (log-uniform); G ≤ 1 is off. */
export function gainSeries(text: string, G: number, rng: Rng): string {
  if (!(G > 1)) return text;
  const span = Math.log(G);
  return mapSeries(text, (readings) => scaleAboutMedian(readings, Math.exp((2 * rng.random() - 1) * span)));
}

/**
 * Readings with their deviations from the median (the upper one of an even count) multiplied by g, each rounded to
 * its own decimals; a series without negative readings stays without. Readings in exponent notation are left as written.
 */
export function scaleAboutMedian(readings: string[], g: number): string[] {
  if (readings.some((v) => /[eE]/.test(v))) return readings;
  const x = readings.map(Number);
  const sorted = [...x].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1];
  const floor = sorted[0] >= 0 ? 0 : -Infinity;
  return readings.map((v, i) => {
    const point = v.indexOf('.');
    const decimals = point < 0 ? 0 : v.length - point - 1;
    const y = Number(Math.max(floor, median + (x[i] - median) * g).toFixed(decimals));
    return (y === 0 ? 0 : y).toFixed(decimals); // no '-0'
  });
}
