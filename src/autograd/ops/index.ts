// Every differentiable op in one namespace: the primitives (ops/*) and the fused ops (fused/*).
// Tensor's methods call into this; library users import the same functions from src/autograd.
export * from './elementwise.js';
export * from './views.js';
export * from './reduce.js';
export * from './matmul.js';
export * from './softmax.js';
export * from './indexing.js';
export * from '../fused/gelu.js';
export * from '../fused/layernorm.js';
export * from '../fused/linear.js';
export * from '../fused/attention.js';
export * from '../fused/cross-entropy.js';
