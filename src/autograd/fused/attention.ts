// Causal multi-head self-attention as one op, in llm.c's layout: qkv (B,T,3C) holds q, k and v side by
// side per position, NH heads of size C/NH each; out (B,T,C) = softmax(q·kᵀ/√hs + causal mask)·v per head.
// The kernel saves the attention matrix (B,NH,T,T) for its hand-written backward; tested against the
// same computation built from reshape/permute/matmul/maskedFill/softmax.
import { Tensor, newArray } from '../../tensor/tensor.js';
import { values } from '../../tensor/layout.js';
import { shapeStr, ShapeError } from '../../tensor/shape.js';
import { getKernels } from '../../kernels/index.js';
import { record } from '../graph.js';

export function causalSelfAttention(qkv: Tensor, nHead: number): Tensor {
  if (qkv.ndim !== 3 || qkv.shape[2] % 3 !== 0) throw new ShapeError(`causalSelfAttention: qkv must be (B,T,3C), got ${shapeStr(qkv.shape)}`);
  const [B, T, C3] = qkv.shape;
  const C = C3 / 3;
  if (!Number.isInteger(nHead) || nHead < 1 || C % nHead !== 0) {
    throw new ShapeError(`causalSelfAttention: C=${C} (from qkv ${shapeStr(qkv.shape)}) is not divisible by nHead=${nHead}`);
  }
  const qv = values(qkv);
  const out = newArray(qkv.dtype, B * T * C); // (B,T,C)
  const preatt = newArray(qkv.dtype, B * nHead * T * T); // (B,NH,T,T)
  const att = newArray(qkv.dtype, B * nHead * T * T); // (B,NH,T,T)
  getKernels().attentionForward(out, preatt, att, qv, B, T, C, nHead);
  return record('causalSelfAttention', new Tensor(out, [B, T, C]), [qkv], (g) => {
    const dqkv = newArray(qkv.dtype, qkv.size);
    // dpreatt and datt are scratch the kernel overwrites; preatt's buffer is reused for one of them
    getKernels().attentionBackward(dqkv, preatt, newArray(qkv.dtype, att.length), values(g), qv, att, B, T, C, nHead);
    return [new Tensor(dqkv, qkv.shape)];
  });
}
