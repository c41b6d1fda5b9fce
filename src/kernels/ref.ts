// The `ref` kernel tier: plain, readable loops that define what every kernel computes. It is the oracle
// the faster tiers are tested against, and the tier gradient checks run in float64. A port of the CPU
// kernels of llm.c's train_gpt2.c (same loops, same layouts), generic over Float32Array and Float64Array;
// sums are accumulated in JavaScript numbers (float64). Clarity over speed.
import type { FloatArray, Kernels } from './types.js';

const GELU_SCALE = Math.sqrt(2 / Math.PI);

function matmul(
  c: FloatArray,
  a: FloatArray,
  b: FloatArray,
  M: number,
  K: number,
  N: number,
  transA: boolean,
  transB: boolean,
  accumulate: boolean,
): void {
  // c(M,N) (+)= op(a)(M,K) · op(b)(K,N); a stored (M,K) or (K,M), b stored (K,N) or (N,K)
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const aik = transA ? a[k * M + i] : a[i * K + k];
        const bkj = transB ? b[j * K + k] : b[k * N + j];
        sum += aik * bkj;
      }
      c[i * N + j] = accumulate ? c[i * N + j] + sum : sum;
    }
  }
}

function add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) out[i] = a[i] + b[i];
}

function addBias(out: FloatArray, bias: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    for (let j = 0; j < C; j++) out[o + j] += bias[j];
  }
}

function layernormForward(
  out: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  bias: FloatArray,
  N: number,
  C: number,
  eps: number,
): void {
  // (N,C) -> (N,C), saving mean(N) and rstd(N)
  for (let r = 0; r < N; r++) {
    const x = r * C;
    let m = 0;
    for (let i = 0; i < C; i++) m += inp[x + i];
    m /= C;
    let v = 0;
    for (let i = 0; i < C; i++) {
      const d = inp[x + i] - m;
      v += d * d;
    }
    v /= C;
    const s = 1 / Math.sqrt(v + eps);
    for (let i = 0; i < C; i++) out[x + i] = (inp[x + i] - m) * s * weight[i] + bias[i];
    mean[r] = m;
    rstd[r] = s;
  }
}

function layernormBackward(
  dinp: FloatArray,
  dweight: FloatArray,
  dbias: FloatArray,
  dout: FloatArray,
  inp: FloatArray,
  weight: FloatArray,
  mean: FloatArray,
  rstd: FloatArray,
  N: number,
  C: number,
): void {
  for (let r = 0; r < N; r++) {
    const x = r * C;
    const m = mean[r];
    const s = rstd[r];
    // two reductions: mean of dnorm and mean of dnorm·norm
    let dnormMean = 0;
    let dnormNormMean = 0;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - m) * s;
      const dnorm = weight[i] * dout[x + i];
      dnormMean += dnorm;
      dnormNormMean += dnorm * norm;
    }
    dnormMean /= C;
    dnormNormMean /= C;
    for (let i = 0; i < C; i++) {
      const norm = (inp[x + i] - m) * s;
      const dnorm = weight[i] * dout[x + i];
      dbias[i] += dout[x + i];
      dweight[i] += norm * dout[x + i];
      dinp[x + i] += (dnorm - dnormMean - norm * dnormNormMean) * s;
    }
  }
}

function attentionForward(
  out: FloatArray,
  preatt: FloatArray,
  att: FloatArray,
  qkv: FloatArray,
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  // qkv(B,T,3C) -> out(B,T,C); preatt, att (B,NH,T,T). Entries above the diagonal are written as 0.
  const C3 = 3 * C;
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + t * C3 + h * hs;
        const row = b * NH * T * T + h * T * T + t * T;
        // pass 1: scaled scores q·k and their max
        let maxval = -Infinity;
        for (let t2 = 0; t2 <= t; t2++) {
          const k = b * T * C3 + t2 * C3 + h * hs + C;
          let val = 0;
          for (let i = 0; i < hs; i++) val += qkv[q + i] * qkv[k + i];
          val *= scale;
          if (val > maxval) maxval = val;
          preatt[row + t2] = val;
        }
        // pass 2: exponentials and their sum; pass 3: normalize (causal: zero above the diagonal)
        let expsum = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const e = Math.exp(preatt[row + t2] - maxval);
          expsum += e;
          att[row + t2] = e;
        }
        const inv = expsum === 0 ? 0 : 1 / expsum;
        for (let t2 = 0; t2 < T; t2++) {
          if (t2 <= t) att[row + t2] *= inv;
          else {
            att[row + t2] = 0;
            preatt[row + t2] = 0;
          }
        }
        // pass 4: weighted sum of the values
        const o = b * T * C + t * C + h * hs;
        for (let i = 0; i < hs; i++) out[o + i] = 0;
        for (let t2 = 0; t2 <= t; t2++) {
          const v = b * T * C3 + t2 * C3 + h * hs + 2 * C;
          const w = att[row + t2];
          for (let i = 0; i < hs; i++) out[o + i] += w * qkv[v + i];
        }
      }
    }
  }
}

function attentionBackward(
  dqkv: FloatArray,
  dpreatt: FloatArray,
  datt: FloatArray,
  dout: FloatArray,
  qkv: FloatArray,
  att: FloatArray,
  B: number,
  T: number,
  C: number,
  NH: number,
): void {
  // dout(B,T,C) -> dqkv(B,T,3C) +=; dpreatt and datt (B,NH,T,T) are overwritten scratch
  const C3 = 3 * C;
  const hs = C / NH;
  const scale = 1 / Math.sqrt(hs);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const q = b * T * C3 + t * C3 + h * hs;
        const row = b * NH * T * T + h * T * T + t * T;
        const o = b * T * C + t * C + h * hs;
        for (let t2 = 0; t2 < T; t2++) {
          datt[row + t2] = 0;
          dpreatt[row + t2] = 0;
        }
        // pass 4 backward: out = Σ att·v
        for (let t2 = 0; t2 <= t; t2++) {
          const v = b * T * C3 + t2 * C3 + h * hs + 2 * C;
          for (let i = 0; i < hs; i++) {
            datt[row + t2] += qkv[v + i] * dout[o + i];
            dqkv[v + i] += att[row + t2] * dout[o + i];
          }
        }
        // passes 2-3 backward (softmax): dpreatt[t3] = Σ_t2 att[t2]·(δ(t2,t3) − att[t3])·datt[t2]
        //   = att[t3]·(datt[t3] − Σ_t2 att[t2]·datt[t2])
        let dot = 0;
        for (let t2 = 0; t2 <= t; t2++) dot += att[row + t2] * datt[row + t2];
        for (let t3 = 0; t3 <= t; t3++) dpreatt[row + t3] = att[row + t3] * (datt[row + t3] - dot);
        // pass 1 backward: preatt = scale · q·k
        for (let t2 = 0; t2 <= t; t2++) {
          const k = b * T * C3 + t2 * C3 + h * hs + C;
          const g = dpreatt[row + t2] * scale;
          for (let i = 0; i < hs; i++) {
            dqkv[q + i] += qkv[k + i] * g;
            dqkv[k + i] += qkv[q + i] * g;
          }
        }
      }
    }
  }
}

function geluForward(out: FloatArray, inp: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i];
    const cube = 0.044715 * x * x * x;
    out[i] = 0.5 * x * (1 + Math.tanh(GELU_SCALE * (x + cube)));
  }
}

function geluBackward(dinp: FloatArray, inp: FloatArray, dout: FloatArray, n: number): void {
  for (let i = 0; i < n; i++) {
    const x = inp[i];
    const cube = 0.044715 * x * x * x;
    const tanhArg = GELU_SCALE * (x + cube);
    const tanhOut = Math.tanh(tanhArg);
    const sech2 = 1 - tanhOut * tanhOut; // 1/cosh² without overflow
    const localGrad = 0.5 * (1 + tanhOut) + x * 0.5 * sech2 * GELU_SCALE * (1 + 3 * 0.044715 * x * x);
    dinp[i] += localGrad * dout[i];
  }
}

function logSumExp(out: FloatArray, inp: FloatArray, N: number, C: number): void {
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let max = -Infinity;
    for (let c = 0; c < C; c++) if (inp[o + c] > max) max = inp[o + c];
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(inp[o + c] - max);
    out[r] = max + Math.log(sum);
  }
}

function softmaxForward(out: FloatArray, inp: FloatArray, N: number, C: number): void {
  // (N,C) -> (N,C), row-wise; reads each inp element before writing the same out element, so out may alias inp
  for (let r = 0; r < N; r++) {
    const x = r * C;
    let maxval = -Infinity;
    for (let i = 0; i < C; i++) if (inp[x + i] > maxval) maxval = inp[x + i];
    let sum = 0;
    for (let i = 0; i < C; i++) {
      const e = Math.exp(inp[x + i] - maxval);
      out[x + i] = e;
      sum += e;
    }
    for (let i = 0; i < C; i++) out[x + i] /= sum;
  }
}

function crossEntropyForward(losses: FloatArray, probs: FloatArray, targets: Int32Array, N: number, V: number): void {
  for (let i = 0; i < N; i++) {
    const t = targets[i];
    losses[i] = t < 0 ? 0 : -Math.log(probs[i * V + t]);
  }
}

function crossEntropySoftmaxBackward(
  dlogits: FloatArray,
  dlosses: FloatArray,
  probs: FloatArray,
  targets: Int32Array,
  N: number,
  V: number,
): void {
  for (let r = 0; r < N; r++) {
    const t = targets[r];
    if (t < 0) continue;
    const d = dlosses[r];
    for (let i = 0; i < V; i++) dlogits[r * V + i] += (probs[r * V + i] - (i === t ? 1 : 0)) * d;
  }
}

function adamw(
  params: FloatArray,
  grads: FloatArray,
  m: FloatArray,
  v: FloatArray,
  n: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
): void {
  const c1 = 1 - Math.pow(beta1, step);
  const c2 = 1 - Math.pow(beta2, step);
  for (let i = 0; i < n; i++) {
    const g = grads[i];
    const mi = beta1 * m[i] + (1 - beta1) * g;
    const vi = beta2 * v[i] + (1 - beta2) * g * g;
    m[i] = mi;
    v[i] = vi;
    const mhat = mi / c1;
    const vhat = vi / c2;
    params[i] -= lr * (mhat / (Math.sqrt(vhat) + eps) + weightDecay * params[i]);
  }
}

/** The reference kernels: single-threaded, Float32Array or Float64Array. */
export const ref: Kernels = {
  name: 'ref',
  threads: 1,
  matmul,
  add,
  addBias,
  layernormForward,
  layernormBackward,
  attentionForward,
  attentionBackward,
  geluForward,
  geluBackward,
  softmaxForward,
  logSumExp,
  crossEntropyForward,
  crossEntropySoftmaxBackward,
  adamw,
};
