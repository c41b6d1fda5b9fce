// Public API of src/tensor: the Tensor type, shape helpers, creation functions and the raw
// (not autograd-recorded) layout helpers that ops and kernels-facing code build on.
export { Tensor, dtypeOf, newArray, type DType, type TensorLike } from './tensor.js';
export * from './shape.js';
export * from './creation.js';
export {
  values,
  copyValues,
  stridedOffsets,
  scatterAdd,
  reshapeRaw,
  permuteRaw,
  sliceRaw,
  expandRaw,
  sumToShape,
  map,
  map2,
} from './layout.js';
