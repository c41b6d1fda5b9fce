// Incremental GPT-2 inference of the training model with a KV cache (B=1): the shared decoding loop
// (block-decode.ts) over the model's own f32 weights and kernels. Prefill runs in chunks of PREFILL_CHUNK rows,
// then each new token costs one matrix-vector pass per weight plus attention over the cache.
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { CacheDecoder, type LinearFn } from './block-decode.js';
import { encoderForward, linearForward, type GPT2 } from './model.js';
import type { BlockTensors } from './params.js';
import { perObject } from '../../util/memo.js';

export { logProbOf, PREFILL_CHUNK } from './block-decode.js';

export class KVDecoder extends CacheDecoder<FloatArray> {
  constructor(
    readonly model: GPT2,
    capacity = model.config.blockSize,
  ) {
    super(model.config, model.alloc, capacity);
  }

  /** A new decoder (its own cache, from the model's allocator) holding a copy of this one's context. */
  fork(): KVDecoder {
    const d = new KVDecoder(this.model, this.capacity);
    d.copyFrom(this);
    return d;
  }

  protected kernels(): Kernels {
    return this.model.kernels;
  }

  protected embed(x: FloatArray, ids: Int32Array, n: number, pos: number): void {
    const { wte, wpe } = this.model.params.tensors;
    encoderForward(x, ids, wte, wpe.subarray(pos * this.config.nEmbd), 1, n, this.config.nEmbd);
  }

  protected block(l: number): BlockTensors {
    return this.model.params.tensors.h[l];
  }

  protected readonly linear: LinearFn<FloatArray> = (out, inp, w, bias, n, IC, OC) => linearForward(this.model.kernels, out, inp, w, bias, n, IC, OC);

  protected lnf(): [FloatArray, FloatArray] {
    return [this.model.params.tensors.lnfw, this.model.params.tensors.lnfb];
  }

  protected lmHead(logits: FloatArray, x: FloatArray, rows: number): void {
    const { nEmbd: C, vocabSize: V } = this.config;
    this.model.kernels.matmul(logits, x, this.model.params.tensors.wte, rows, C, V, false, true, false);
  }
}

/** The model's shared decoder (whole context), created on first use; callers reset() or rewind() it. */
export const sharedDecoder: (model: GPT2) => KVDecoder = perObject((model: GPT2) => new KVDecoder(model));
