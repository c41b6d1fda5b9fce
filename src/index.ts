// tinyllm-ts public API: everything a library user imports comes from here.
// Areas: utilities, tensors + autograd + nn (the educational engine), kernels (ref / js / wasm tiers),
// the GPT-2 tokenizer, data preparation, the GPT-2 model, training, and interop file formats.
export * from './util/rng.js';
export * from './util/errors.js';
export * from './util/fs.js';
export * from './util/progress.js';
export * from './util/interrupt.js';
export * from './util/outdir.js';
export * from './util/memory.js';
export * from './tensor/arena.js';
export * from './tensor/index.js';
export * from './autograd/index.js';
export * from './nn/index.js';
export * from './kernels/index.js';
export { createWasmKernels, hasMatmulInt8, wasmTierAvailable, type WasmKernels, type WasmKernelOptions } from './kernels/wasm/index.js';
export * from './tokenizer/index.js';
export * from './data/index.js';
export * from './task/index.js';
export * from './export/index.js';
export * from './models/index.js';
export * from './train/index.js';
export * from './eval/index.js';
export * from './rag/index.js';
export * from './finetune/index.js';
export * from './runtime/index.js';
export { ModelServer, type ServeOptions } from './serve/server.js';
export * from './plot/index.js';
