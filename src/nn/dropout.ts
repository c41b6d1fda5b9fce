// Dropout layer: active in training mode only, drawing its masks from its own seeded Rng so a run can be
// replayed exactly (save dropout.rng.getState() in a checkpoint, setState() to resume).
import { Tensor } from '../tensor/tensor.js';
import { dropout } from '../autograd/ops/indexing.js';
import { Rng } from '../util/rng.js';
import { Module } from './module.js';

export class Dropout extends Module {
  readonly rng: Rng;

  constructor(readonly p: number, opts: { rng?: Rng; seed?: number } = {}) {
    super();
    if (!(p >= 0 && p < 1)) throw new RangeError(`Dropout: p must be in [0, 1), got ${p}`);
    this.rng = opts.rng ?? new Rng(opts.seed ?? 0);
  }

  forward(x: Tensor): Tensor {
    return this.training && this.p > 0 ? dropout(x, this.p, this.rng) : x;
  }
}
