// tinyllm-ts public API: everything a library user imports comes from here.
export * from './util/rng.js';
export * from './util/errors.js';
export * from './util/fs.js';
export * from './util/progress.js';
export * from './tensor/arena.js';
export type { Kernels, FloatArray } from './kernels/types.js';
