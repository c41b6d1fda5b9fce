// Public API of the training area: AdamW, the learning-rate schedule, the step loop, checkpoints,
// metrics, the loss-curve picture and whole pre-training runs.
export * from './adamw.js';
export * from './schedule.js';
export * from './trainer.js';
export * from './checkpoint.js';
export * from './metrics.js';
export * from './losscurve.js';
export * from './run.js';
export * from './baseline.js';
