// AdamW (Loshchilov & Hutter): Adam with decoupled weight decay and bias correction, one kernels.adamw
// call per parameter, as llm.c's gpt2_update. Parameter groups carry their own weight decay (and lr
// scale), e.g. no decay for biases and LayerNorm gains as in GPT-2 training.
import type { Tensor } from '../tensor/tensor.js';
import { newArray } from '../tensor/tensor.js';
import { getKernels } from '../kernels/index.js';
import type { FloatArray } from '../kernels/types.js';
import { UserError } from '../util/errors.js';
import { clipGradNorm } from './clip.js';

export interface ParamGroup {
  params: readonly Tensor[];
  /** Overrides the optimizer's weightDecay for this group. */
  weightDecay?: number;
  /** Multiplies the optimizer's lr for this group (default 1). */
  lrScale?: number;
}

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

interface Moments {
  m: FloatArray;
  v: FloatArray;
}

/** Everything needed to resume: the step count and both moments of every parameter, in group order. */
export interface AdamWState {
  step: number;
  m: FloatArray[];
  v: FloatArray[];
}

function flat(t: Tensor): FloatArray {
  if (!t.isContiguous) throw new Error('AdamW: parameters must be contiguous leaf tensors');
  return t.data.subarray(t.offset, t.offset + t.size);
}

export class AdamW {
  /** Learning rate of the next step (set it each step for a schedule). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  readonly groups: readonly ParamGroup[];
  /** Steps taken so far (bias correction uses step + 1 for the next one). */
  stepCount = 0;
  private readonly moments = new Map<Tensor, Moments>();

  /** params: a list of tensors (one group) or parameter groups. Defaults as PyTorch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01. */
  constructor(params: readonly Tensor[] | readonly ParamGroup[], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const isGroups = params.length > 0 && !('data' in params[0]);
    this.groups = isGroups ? (params as readonly ParamGroup[]) : [{ params: params as readonly Tensor[] }];
    const seen = new Set<Tensor>();
    for (const p of this.allParams()) {
      if (seen.has(p)) throw new Error('AdamW: a parameter appears twice (in one group or in two groups)');
      seen.add(p);
    }
  }

  private allParams(): Tensor[] {
    return this.groups.flatMap((g) => [...g.params]);
  }

  /** One update of every parameter that has a gradient. */
  step(): void {
    this.stepCount++;
    const k = getKernels();
    for (const group of this.groups) {
      const wd = group.weightDecay ?? this.weightDecay;
      const lr = this.lr * (group.lrScale ?? 1);
      for (const p of group.params) {
        if (!p.grad) continue;
        const data = flat(p);
        let mom = this.moments.get(p);
        if (!mom) {
          mom = { m: newArray(p.dtype, p.size), v: newArray(p.dtype, p.size) };
          this.moments.set(p, mom);
        }
        k.adamw(data, flat(p.grad), mom.m, mom.v, data.length, lr, this.beta1, this.beta2, this.eps, wd, this.stepCount);
      }
    }
  }

  /** Zero every parameter's gradient, keeping the buffers. */
  zeroGrad(): void {
    for (const p of this.allParams()) p.grad?.data.fill(0);
  }

  /** A copy of the optimizer state (moments are zeros for parameters not yet updated). */
  stateDict(): AdamWState {
    const params = this.allParams();
    const mom = params.map((p) => this.moments.get(p));
    return {
      step: this.stepCount,
      m: params.map((p, i) => mom[i]?.m.slice() ?? newArray(p.dtype, p.size)),
      v: params.map((p, i) => mom[i]?.v.slice() ?? newArray(p.dtype, p.size)),
    };
  }

  /** Restore a state saved by stateDict() from an optimizer over the same parameters. */
  loadStateDict(state: AdamWState): void {
    const params = this.allParams();
    if (state.m.length !== params.length || state.v.length !== params.length) {
      throw new UserError(`AdamW.loadStateDict: the state has ${state.m.length} parameters but this optimizer has ${params.length}; resume with the same model and parameter groups`);
    }
    params.forEach((p, i) => {
      if (state.m[i].length !== p.size || state.v[i].length !== p.size) {
        throw new UserError(`AdamW.loadStateDict: parameter ${i} has ${p.size} values but the saved moments have ${state.m[i].length}; resume with the same model configuration`);
      }
      const m = newArray(p.dtype, p.size);
      const v = newArray(p.dtype, p.size);
      m.set(state.m[i]);
      v.set(state.v[i]);
      this.moments.set(p, { m, v });
    });
    this.stepCount = state.step;
  }

  /** Clip the global gradient norm of all parameters to maxNorm; returns the norm before clipping. */
  clipGradNorm(maxNorm: number): number {
    return clipGradNorm(this.allParams(), maxNorm);
  }
}
