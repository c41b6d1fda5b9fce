// LayerNorm over the last axis with learned scale (ones) and shift (zeros), eps 1e-5 as GPT-2.
import { Tensor } from '../tensor/tensor.js';
import { ones, zeros, type CreateOptions } from '../tensor/creation.js';
import { layerNorm } from '../autograd/fused/layernorm.js';
import { Module } from './module.js';

export class LayerNorm extends Module {
  weight: Tensor; // (dim)
  bias: Tensor; // (dim)

  constructor(readonly dim: number, readonly opts: CreateOptions & { eps?: number } = {}) {
    super();
    this.weight = ones([dim], { dtype: opts.dtype, requiresGrad: true });
    this.bias = zeros([dim], { dtype: opts.dtype, requiresGrad: true });
  }

  /** (..., dim) -> (..., dim) */
  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.opts.eps ?? 1e-5);
  }
}
