// Local retrieval-augmented prompting: a store of labelled examples (or text passages) keyed by numbers,
// BM25 or GPT-2 embeddings, exact search, prompts with the retrieved examples before the query, leak checks.
export * from './bm25.js';
export * from './embed.js';
export * from './store.js';
export * from './retrieve.js';
export * from './prompt.js';
export * from './leak.js';
export * from './generate.js';
