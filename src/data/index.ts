// Dataset preparation: sources → text → token shards (llm.c format), mixing, the training loader,
// and the built-in sensing dataset generators.
export * from './shard.js';
export * from './loader.js';
export * from './permutation.js';
export * from './render.js';
export * from './split.js';
export * from './lines.js';
export * from './csv.js';
export * from './sources.js';
export * from './docstream.js';
export * from './prepare.js';
export * from './generate/index.js';
export * from './mix.js';
export * from './inspect.js';
export * from './builtin.js';
