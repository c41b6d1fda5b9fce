// Evaluation of task models: metrics, the two readings of a generated answer, ranking of a closed label set by
// likelihood over a shared KV-cache prefill (optionally over augmented copies of each prompt: tta.ts), numeric
// answers, and the baselines printed beside every accuracy.
export * from './metrics.js';
export * from './match.js';
export * from './numbers.js';
export * from './features.js';
export * from './baselines.js';
export * from './score.js';
export * from './rank.js';
export * from './tta.js';
export * from './evaluate.js';
export * from './format.js';
