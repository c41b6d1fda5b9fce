// Tasks for fine-tuning and evaluation: the prompt template, where a sequence starts, task files
// (Alpaca JSON/CSV), their encoding into ids with a loss mask, series written 0..99 of their range (rescale), and
// the training augmentations (jitter, and the shift and gain of series of readings).
export * from './template.js';
export * from './sequence.js';
export * from './read.js';
export * from './encode.js';
export * from './batch.js';
export * from './jitter.js';
export * from './series.js';
export * from './shift.js';
export * from './gain.js';
export * from './rescale.js';
export * from './augment.js';
