// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_): if the L2 norm of all gradients
// together exceeds maxNorm, scale every gradient by maxNorm / norm. Returns the norm before clipping.
import type { Tensor } from '../tensor/tensor.js';

function gradValues(p: Tensor): Tensor['data'] | null {
  const g = p.grad;
  return g ? g.data.subarray(g.offset, g.offset + g.size) : null;
}

export function gradNorm(params: readonly Tensor[]): number {
  let ss = 0;
  for (const p of params) {
    const g = gradValues(p);
    if (g) for (let i = 0; i < g.length; i++) ss += g[i] * g[i];
  }
  return Math.sqrt(ss);
}

export function clipGradNorm(params: readonly Tensor[], maxNorm: number): number {
  const norm = gradNorm(params);
  if (norm > maxNorm) {
    const scale = maxNorm / (norm + 1e-6);
    for (const p of params) {
      const g = gradValues(p);
      if (g) for (let i = 0; i < g.length; i++) g[i] *= scale;
    }
  }
  return norm;
}
