// The kernel interface: every heavy loop in tinyllm-ts (matmul, attention, layernorm, GELU, softmax,
// cross-entropy, AdamW, big elementwise adds) goes through one of these functions. Ops are separated
// from kernels as in tfjs-core; the kernel set and argument order follow llm.c's train_gpt2.c.
//
// Rules every implementation follows:
// - Arguments are flat, row-major, contiguous typed-array views; kernels never allocate in the hot path.
// - All shapes are passed explicitly; shapes are documented as (rows, cols) below.
// - Backward kernels ACCUMULATE (+=) into gradient outputs unless stated otherwise, as in llm.c.
// - `ref` accepts Float32Array and Float64Array (float64 is used by gradient checks); faster tiers
//   handle Float32Array and hand Float64Array inputs to `ref`.
// - Arrays that live in the shared arena (src/tensor/arena.ts) may be processed by worker threads and
//   WebAssembly in place; other arrays are still handled correctly (single-threaded or copied).

export type FloatArray = Float32Array | Float64Array;

export interface Kernels {
  /** 'ref' | 'js' | 'wasm' (plus any later tier). */
  readonly name: string;
  /** Threads this instance splits large kernels across (1 = caller only). */
  readonly threads: number;

  /**
   * c(M,N) = op(a)·op(b), or c += op(a)·op(b) when accumulate.
   * a is (M,K), or stored as (K,M) when transA; b is (K,N), or stored as (N,K) when transB.
   * The three forms training needs: A·B (transA=transB=false), Aᵀ·B (transA), A·Bᵀ (transB).
   */
  matmul(
    c: FloatArray,
    a: FloatArray,
    b: FloatArray,
    M: number,
    K: number,
    N: number,
    transA: boolean,
    transB: boolean,
    accumulate: boolean,
  ): void;

  /** out(n) = a(n) + b(n). out may alias a or b. */
  add(out: FloatArray, a: FloatArray, b: FloatArray, n: number): void;

  /** out(N,C) += bias(C) on every row (a linear layer's bias). */
  addBias(out: FloatArray, bias: FloatArray, N: number, C: number): void;

  /**
   * LayerNorm over the last axis: inp(N,C) -> out(N,C); saves mean(N) and rstd(N) = 1/sqrt(var + eps)
   * (biased variance) for the backward pass. weight(C), bias(C).
   */
  layernormForward(
    out: FloatArray,
    mean: FloatArray,
    rstd: FloatArray,
    inp: FloatArray,
    weight: FloatArray,
    bias: FloatArray,
    N: number,
    C: number,
    eps: number,
  ): void;

  /** Accumulates into dinp(N,C), dweight(C), dbias(C) from dout(N,C). */
  layernormBackward(
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
  ): void;

  /**
   * Causal multi-head self-attention, llm.c layout: qkv(B,T,3C) holds q, k, v side by side per position,
   * heads of size C/NH inside each. out(B,T,C). Saves preatt(B,NH,T,T) (scaled scores) and
   * att(B,NH,T,T) (softmax, zero above the diagonal). Scale is 1/sqrt(C/NH).
   */
  attentionForward(
    out: FloatArray,
    preatt: FloatArray,
    att: FloatArray,
    qkv: FloatArray,
    B: number,
    T: number,
    C: number,
    NH: number,
  ): void;

  /**
   * Accumulates into dqkv(B,T,3C) from dout(B,T,C). dpreatt and datt (B,NH,T,T) are scratch:
   * the kernel overwrites them (callers need not zero them).
   */
  attentionBackward(
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
  ): void;

  /** GELU, tanh approximation as in GPT-2: out(n) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). */
  geluForward(out: FloatArray, inp: FloatArray, n: number): void;

  /** dinp(n) += gelu'(inp) · dout. */
  geluBackward(dinp: FloatArray, inp: FloatArray, dout: FloatArray, n: number): void;

  /** Row-wise, numerically stable softmax: inp(N,C) -> out(N,C). out may alias inp. */
  softmaxForward(out: FloatArray, inp: FloatArray, N: number, C: number): void;

  /** out(N) = log Σ_c exp(inp[i, c]) per row of inp(N,C), computed stably (a log-likelihood's normaliser). */
  logSumExp(out: FloatArray, inp: FloatArray, N: number, C: number): void;

  /**
   * losses(N) = -log probs[i, targets[i]] from probs(N,V). A negative target (ignore index) gives loss 0.
   */
  crossEntropyForward(losses: FloatArray, probs: FloatArray, targets: Int32Array, N: number, V: number): void;

  /**
   * Backward of softmax + cross-entropy fused: dlogits(N,V) += (probs - onehot(target)) · dlosses[i].
   * Rows whose target is negative are left untouched.
   */
  crossEntropySoftmaxBackward(
    dlogits: FloatArray,
    dlosses: FloatArray,
    probs: FloatArray,
    targets: Int32Array,
    N: number,
    V: number,
  ): void;

  /**
   * One AdamW step over n parameters (decoupled weight decay, bias correction; `step` counts from 1):
   *   m = β1·m + (1-β1)·g;  v = β2·v + (1-β2)·g²;  p -= lr·( m̂/(√v̂ + eps) + weightDecay·p ).
   */
  adamw(
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
  ): void;
}

/** A kernel set with the quantized runtime's int8 weight matmul (the wasm tier; the js tier on its worker pool). */
export interface Int8Kernels extends Kernels {
  /** c(M,N) = a(M,K)·(scales ⊙ w)ᵀ (+ bias(N) on every row) with w int8 (N,K) and one f32 scale per `block` values along each row of w. */
  matmulInt8(c: Float32Array, a: Float32Array, w: Int8Array, scales: Float32Array, M: number, K: number, N: number, block: number, bias?: Float32Array): void;
}
