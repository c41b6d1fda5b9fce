// Linear layer y = x·Wᵀ + b, W stored (out, in) as in PyTorch nn.Linear, initialised like PyTorch:
// uniform in ±1/√in for weight and bias. Forward is the fused linear op.
import { Tensor } from '../tensor/tensor.js';
import { rand, type RandomOptions } from '../tensor/creation.js';
import { linear } from '../autograd/fused/linear.js';
import { Module } from './module.js';

export class Linear extends Module {
  weight: Tensor; // (out, in)
  bias: Tensor | null; // (out)

  constructor(readonly inFeatures: number, readonly outFeatures: number, opts: RandomOptions & { bias?: boolean } = {}) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    const init = { ...opts, low: -bound, high: bound, requiresGrad: true };
    this.weight = rand([outFeatures, inFeatures], init);
    this.bias = opts.bias === false ? null : rand([outFeatures], init);
  }

  /** (..., in) -> (..., out) */
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}
