// Baselines that every model accuracy is printed beside, fitted on the training split and scored on the same
// test rows: the majority class (or the training mean for numeric answers), the nearest class centroid and
// k nearest neighbours (Euclidean, over the standardised numbers of features.ts; k-NN takes the mean of the
// neighbours' values for numeric answers). Ties go to the class met first among the nearest neighbours.
import type { Features } from './features.js';

/** The most frequent training label (ties: the one seen first). */
export function majorityClass(train: readonly string[]): string {
  const freq = new Map<string, number>();
  for (const y of train) freq.set(y, (freq.get(y) ?? 0) + 1);
  let best = '';
  let bestN = 0;
  for (const [y, n] of freq) if (n > bestN) [best, bestN] = [y, n];
  return best;
}

function sqDist(a: Float64Array, i: number, b: Float64Array, j: number, d: number): number {
  let s = 0;
  for (let k = 0; k < d; k++) {
    const e = a[i * d + k] - b[j * d + k];
    s += e * e;
  }
  return s;
}

function dimOf(f: Features): number {
  return f.n > 0 ? f.x.length / f.n : 0;
}

/** Predicts the class whose training mean (centroid) is nearest. */
export function nearestCentroid(train: Features, labels: readonly string[], test: Features): string[] {
  const d = dimOf(train);
  const classes = [...new Set(labels)];
  const centroids = new Float64Array(classes.length * d);
  const counts = new Float64Array(classes.length);
  const index = new Map(classes.map((c, i) => [c, i]));
  labels.forEach((y, i) => {
    const c = index.get(y) as number;
    counts[c]++;
    for (let k = 0; k < d; k++) centroids[c * d + k] += train.x[i * d + k];
  });
  for (let c = 0; c < classes.length; c++) for (let k = 0; k < d; k++) centroids[c * d + k] /= counts[c];
  return Array.from({ length: test.n }, (_, i) => {
    let best = 0;
    let bestD = Infinity;
    for (let c = 0; c < classes.length; c++) {
      const dist = sqDist(test.x, i, centroids, c, d);
      if (dist < bestD) [best, bestD] = [c, dist];
    }
    return classes[best];
  });
}

/** Indices of the k training rows nearest to test row i, nearest first (ties: lower index first). */
export function nearestRows(train: Features, test: Features, i: number, k: number): number[] {
  const d = dimOf(train);
  const idx: number[] = [];
  const dist: number[] = [];
  for (let j = 0; j < train.n; j++) {
    const s = sqDist(test.x, i, train.x, j, d);
    if (idx.length === k && s >= dist[k - 1]) continue;
    let at = Math.min(idx.length, k - 1);
    if (idx.length < k) (idx.push(j), dist.push(s));
    while (at > 0 && dist[at - 1] > s) {
      idx[at] = idx[at - 1];
      dist[at] = dist[at - 1];
      at--;
    }
    idx[at] = j;
    dist[at] = s;
  }
  return idx;
}

/** Majority vote of the k nearest training rows. */
export function knnClassify(train: Features, labels: readonly string[], test: Features, k: number): string[] {
  return Array.from({ length: test.n }, (_, i) => {
    const votes = new Map<string, number>();
    const near = nearestRows(train, test, i, k);
    for (const j of near) votes.set(labels[j], (votes.get(labels[j]) ?? 0) + 1);
    const top = Math.max(...votes.values());
    return labels[near.find((j) => votes.get(labels[j]) === top) as number];
  });
}

/** Mean value of the k nearest training rows. */
export function knnRegress(train: Features, values: readonly number[], test: Features, k: number): number[] {
  return Array.from({ length: test.n }, (_, i) => {
    const near = nearestRows(train, test, i, k);
    return near.reduce((s, j) => s + values[j], 0) / near.length;
  });
}
