// Dataset preparation: sources → text → token shards (llm.c format), mixing, the training loader,
// and the built-in sensing dataset generators.
export * from './shard.js';
export * from './loader.js';
export * from './permutation.js';
export * from './render.js';
export * from './generate/index.js';
