// Incremental GPT-2 inference of the training model with a KV cache (B=1): the shared decoding loop
// (block-decode.ts) through the model's own linear layers (f32 or its frozen int8 base, plus its LoRA hook) and kernels. Prefill runs in chunks of PREFILL_CHUNK rows,
// then each new token costs one matrix-vector pass per weight plus attention over the cache.
import type { FloatArray, Kernels } from '../../kernels/types.js';
import { CacheDecoder, type LinearFn } from './block-decode.js';
import { embedRows, matmulW } from './matrix.js';
import type { GPT2, LinearSite } from './model.js';
import type { Block } from './params.js';
import { perObject } from '../../util/memo.js';

export { logProbOf, PREFILL_CHUNK, SCORE_ROWS } from './block-decode.js';

/** A block's linear layer, which the decoder multiplies through GPT2.linear. */
interface SiteRef {
  l: number;
  site: LinearSite;
}

export class KVDecoder extends CacheDecoder<SiteRef> {
  private readonly blocks: Block<SiteRef, FloatArray>[];

  constructor(
    readonly model: GPT2,
    capacity = model.config.blockSize,
  ) {
    super(model.config, model.alloc, capacity);
    this.blocks = model.params.tensors.h.map((b, l) => ({
      ...b,
      qkvw: { l, site: 'attn.c_attn' },
      attprojw: { l, site: 'attn.c_proj' },
      fcw: { l, site: 'mlp.c_fc' },
      fcprojw: { l, site: 'mlp.c_proj' },
    }));
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
    embedRows(x, ids, n, this.model.lmHead, this.model.params.tensors.wpe, pos, this.config.nEmbd);
  }

  protected block(l: number): Block<SiteRef, FloatArray> {
    return this.blocks[l];
  }

  protected readonly linear: LinearFn<SiteRef> = (out, inp, w, _bias, n, IC, OC) => this.model.linear(w.l, w.site, out, inp, n, IC, OC);

  protected lnf(): [FloatArray, FloatArray] {
    return [this.model.params.tensors.lnfw, this.model.params.tensors.lnfb];
  }

  protected lmHead(logits: FloatArray, x: FloatArray, rows: number): void {
    matmulW(this.model.kernels, logits, x, this.model.lmHead, rows, this.config.nEmbd, this.config.vocabSize);
  }
}

/** The model's shared decoder (whole context), created on first use; callers reset() or rewind() it. */
export const sharedDecoder: (model: GPT2) => KVDecoder = perObject((model: GPT2) => new KVDecoder(model));
