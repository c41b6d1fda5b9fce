// Softmax + cross-entropy as one op (llm.c crossentropy_softmax_backward): the mean of −log p[target]
// over the counted positions. A position is not counted when its target equals ignoreIndex or its loss
// mask is 0 (e.g. prompt tokens in fine-tuning). The fused gradient is (p − onehot)/count per counted row.
import { Tensor, newArray } from '../../tensor/tensor.js';
import { values } from '../../tensor/layout.js';
import { shapeStr, ShapeError } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import { record } from '../graph.js';
import type { Indices } from '../ops/indexing.js';

export interface CrossEntropyOptions {
  /** Targets equal to this are not counted (default -1). */
  ignoreIndex?: number;
  /** One weight per position: 0 = not counted, nonzero = counted. */
  mask?: ArrayLike<number>;
}

/** logits (...,V) and one target per row -> scalar mean loss over counted rows (0 when none count). */
export function crossEntropy(logits: Tensor, targets: Indices, opts: CrossEntropyOptions = {}): Tensor {
  const V = logits.shape[logits.ndim - 1];
  const N = logits.ndim === 0 ? 0 : logits.size / V;
  if (logits.ndim < 1 || targets.length !== N) {
    throw new ShapeError(`crossEntropy: logits ${shapeStr(logits.shape)} has ${N} rows but ${targets.length} targets were given`);
  }
  const { ignoreIndex = -1, mask } = opts;
  if (mask && mask.length !== N) throw new ShapeError(`crossEntropy: loss mask has ${mask.length} entries for ${N} rows`);
  const tgt = new Int32Array(N); // -1 marks a row that does not count (the kernels skip negative targets)
  let count = 0;
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    if (t === ignoreIndex || (mask && mask[i] === 0)) {
      tgt[i] = -1;
      continue;
    }
    if (!Number.isInteger(t) || t < 0 || t >= V) throw new ShapeError(`crossEntropy: target ${t} at row ${i} is out of range [0, ${V}) (ignoreIndex is ${ignoreIndex})`);
    tgt[i] = t;
    count++;
  }
  const k = getKernels();
  const probs = newArray(logits.dtype, N * V); // (N,V)
  k.softmaxForward(probs, values(logits), N, V);
  const losses = newArray(logits.dtype, N); // (N)
  k.crossEntropyForward(losses, probs, tgt, N, V);
  let total = 0;
  for (let i = 0; i < N; i++) total += losses[i];
  const out = new Tensor(newArray(logits.dtype, 1).fill(count > 0 ? total / count : 0), []);
  return record('crossEntropy', out, [logits], (g) => {
    const dlogits = newArray(logits.dtype, N * V);
    const dlosses = newArray(logits.dtype, N).fill(count > 0 ? g.item() / count : 0);
    k.crossEntropySoftmaxBackward(dlogits, dlosses, probs, tgt, N, V);
    return [new Tensor(dlogits, logits.shape)];
  });
}
