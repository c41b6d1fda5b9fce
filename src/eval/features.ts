// Numeric features for the baselines: the numbers in each row's input text (see numbers.ts), as a fixed-length
// vector standardised with the training rows' mean and standard deviation. The length is the most common count
// of numbers among training rows; a row with fewer numbers gets the training mean for the missing ones (0 after
// standardising), a row with more has its extra numbers ignored, and both are counted so the report can say so.
import { parseNumbers } from './numbers.js';

export interface FeatureSpace {
  /** Numbers per row used as features. */
  dim: number;
  mean: Float64Array;
  /** Standard deviation per feature; 0 for a constant feature (it is then left out of distances). */
  std: Float64Array;
  /** Training rows whose count of numbers differed from dim. */
  trainMismatched: number;
}

export interface Features {
  /** (n, dim) standardised features, row-major. */
  x: Float64Array;
  n: number;
  /** Rows whose count of numbers differed from dim (padded or cut). */
  mismatched: number;
}

/** Picks the feature length and the standardisation from the training inputs. */
export function fitFeatures(trainInputs: readonly string[]): FeatureSpace {
  const rows = trainInputs.map(parseNumbers);
  const freq = new Map<number, number>();
  for (const r of rows) freq.set(r.length, (freq.get(r.length) ?? 0) + 1);
  let dim = 0;
  let best = 0;
  for (const [len, f] of freq) if (f > best || (f === best && len > dim)) [dim, best] = [len, f];
  const mean = new Float64Array(dim);
  const std = new Float64Array(dim);
  const count = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < Math.min(dim, r.length); j++) (mean[j] += r[j]), count[j]++;
  for (let j = 0; j < dim; j++) mean[j] = count[j] ? mean[j] / count[j] : 0;
  for (const r of rows) for (let j = 0; j < Math.min(dim, r.length); j++) std[j] += (r[j] - mean[j]) ** 2;
  for (let j = 0; j < dim; j++) std[j] = count[j] ? Math.sqrt(std[j] / count[j]) : 0;
  return { dim, mean, std, trainMismatched: rows.filter((r) => r.length !== dim).length };
}

/** Standardised feature rows of the inputs in a fitted space. */
export function featurize(space: FeatureSpace, inputs: readonly string[]): Features {
  const { dim, mean, std } = space;
  const x = new Float64Array(inputs.length * dim);
  let mismatched = 0;
  inputs.forEach((text, i) => {
    const r = parseNumbers(text);
    if (r.length !== dim) mismatched++;
    for (let j = 0; j < dim; j++) x[i * dim + j] = j < r.length && std[j] > 0 ? (r[j] - mean[j]) / std[j] : 0;
  });
  return { x, n: inputs.length, mismatched };
}
