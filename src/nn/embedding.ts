// Embedding table (num, dim): integer ids -> rows. Initialised N(0, std²) (std 1 as PyTorch; GPT-2 uses 0.02).
import { Tensor } from '../tensor/tensor.js';
import { randn, type RandomOptions } from '../tensor/creation.js';
import { embedding, type Indices } from '../autograd/ops/indexing.js';
import { Module } from './module.js';

export class Embedding extends Module {
  weight: Tensor; // (num, dim)

  constructor(readonly numEmbeddings: number, readonly embeddingDim: number, opts: RandomOptions & { std?: number } = {}) {
    super();
    this.weight = randn([numEmbeddings, embeddingDim], { ...opts, std: opts.std ?? 1, requiresGrad: true });
  }

  /** ids of shape idsShape (default: 1-D) -> (...idsShape, dim) */
  forward(ids: Indices, idsShape?: readonly number[]): Tensor {
    return embedding(this.weight, ids, idsShape);
  }
}
