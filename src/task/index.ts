// Tasks for fine-tuning and evaluation: the prompt template, where a sequence starts, task files
// (Alpaca JSONL/CSV), their encoding into ids with a loss mask, and numeric jitter for training.
export * from './template.js';
export * from './sequence.js';
export * from './read.js';
export * from './encode.js';
export * from './batch.js';
export * from './jitter.js';
export * from './shift.js';
export * from './augment.js';
