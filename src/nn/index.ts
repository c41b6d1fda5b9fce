// Public API of src/nn: Module and the layers, the AdamW optimizer and gradient clipping.
export { Module } from './module.js';
export { Linear } from './linear.js';
export { Embedding } from './embedding.js';
export { LayerNorm } from './layernorm.js';
export { Dropout } from './dropout.js';
export { AdamW, type AdamWOptions, type AdamWState, type ParamGroup } from './adamw.js';
export { clipGradNorm, gradNorm } from './clip.js';
