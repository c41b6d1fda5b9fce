// Public API of src/autograd: the graph (record, backward, noGrad), every differentiable op as a
// function (primitives and fused), and the gradient checker.
//
// The split with src/tensor: src/tensor owns data and layout (Tensor, shapes, strides, views that are
// not recorded, creation); src/autograd owns everything differentiable. Tensor's methods are thin
// calls into ./ops, so `x.matmul(w).add(b)` and `add(matmul(x, w), b)` are the same thing.
export { record, backward, noGrad, isGradEnabled, type BackwardFn, type Node } from './graph.js';
export * from './ops/index.js';
export { gradcheck, assertGradcheck, type GradcheckOptions, type GradcheckResult } from './gradcheck.js';
