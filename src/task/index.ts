// Tasks for fine-tuning and evaluation: the prompt template, where a sequence starts, task files
// (Alpaca JSONL/CSV) and their encoding into ids with a loss mask.
export * from './template.js';
export * from './sequence.js';
export * from './read.js';
export * from './encode.js';
export * from './batch.js';
