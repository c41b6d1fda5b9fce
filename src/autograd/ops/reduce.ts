// Reductions over axes (all axes by default), with keepdim: sum, mean, max.
// The backward of each reshapes the gradient to the kept-dims shape and broadcasts it over the input.
import { Tensor } from '../../tensor/tensor.js';
import { expandRaw, map2, reduceRaw, reshapeRaw, sumRaw } from '../../tensor/layout.js';
import { normAxes, numel, reducedShape } from '../../tensor/shape.js';
import { record } from '../graph.js';
import { div, mul } from './elementwise.js';

type Axes = number | readonly number[] | undefined;

/** The upstream gradient of a reduction, broadcast back over the input's shape. */
function spread(g: Tensor, x: Tensor, axes: readonly number[]): Tensor {
  return expandRaw('reduce backward', reshapeRaw('reduce backward', g, reducedShape(x.shape, axes, true)), x.shape);
}

export function sum(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  const axes = normAxes('sum', axis, x.ndim);
  return record('sum', sumRaw(x, axes, keepdim), [x], (g) => [spread(g, x, axes)]);
}

export function mean(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  const axes = normAxes('mean', axis, x.ndim);
  const count = numel(axes.map((a) => x.shape[a]));
  return div(sum(x, axes, keepdim), count);
}

/** Maximum over axes. The gradient is shared equally among tied maxima (like torch.amax). */
export function max(x: Tensor, axis?: Axes, keepdim = false): Tensor {
  const axes = normAxes('max', axis, x.ndim);
  const out = reduceRaw(x, axes, keepdim, -Infinity, Math.max);
  return record('max', out, [x], (g) => {
    const isMax = map2('max backward', x, spread(out, x, axes), (v, m) => (v === m ? 1 : 0));
    const ties = spread(sumRaw(isMax, axes, true), x, axes);
    return [mul(spread(g, x, axes), div(isMax, ties))];
  });
}
