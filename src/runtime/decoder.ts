// The runtime's KV-cache decoder over a loaded .tllm model: the shared decoding loop (block-decode.ts) with
// matrices multiplied as stored — f32 through the kernels' matmul, int8 through the tier's int8 matmul (wasm
// integer dot products on all threads, or the plain-TS fallback) straight from the int8 weights. Prefill runs
// in chunks of PREFILL_CHUNK rows. rewind()/copyFrom()/fork() let several continuations share one prefill.
import { getKernels } from '../kernels/index.js';
import type { FloatArray, Kernels } from '../kernels/types.js';
import { addBias, CacheDecoder, type LinearFn } from '../models/gpt2/block-decode.js';
import { embedRows, matmulW } from '../models/gpt2/matrix.js';
import type { Block } from '../models/gpt2/params.js';
import { sharedArena } from '../tensor/arena.js';
import type { LoadedModel, Matrix } from './model.js';

export interface DecoderOptions {
  /** Positions the cache holds (default: the model's block size; less saves memory: L·2·C floats each). */
  capacity?: number;
  /** Kernel set (default: the process's, see getKernels()). */
  kernels?: Kernels;
}

export class Decoder extends CacheDecoder<Matrix> {
  private readonly k: Kernels;

  constructor(
    readonly model: LoadedModel,
    opts: DecoderOptions = {},
  ) {
    // not zero-filled: every cache row and scratch value is written before it is read, and untouched cache pages
    // of a long context then cost no memory until used
    super(model.config, (n) => sharedArena().alloc('f32', n, { zero: false }), opts.capacity ?? model.config.blockSize);
    this.k = opts.kernels ?? getKernels();
  }

  /** A new decoder (its own cache) holding a copy of this one's context. */
  fork(): Decoder {
    const d = new Decoder(this.model, { capacity: this.capacity, kernels: this.k });
    d.copyFrom(this);
    return d;
  }

  protected kernels(): Kernels {
    return this.k;
  }

  protected embed(x: FloatArray, ids: Int32Array, n: number, pos: number): void {
    embedRows(x, ids, n, this.model.weights.wte, this.model.weights.wpe, pos, this.config.nEmbd);
  }

  protected block(l: number): Block<Matrix, Float32Array> {
    return this.model.weights.blocks[l];
  }

  protected readonly linear: LinearFn<Matrix> = (out, inp, w, bias, n, IC, OC) => {
    matmulW(this.k, out, inp, w, n, IC, OC);
    addBias(out, bias, n, OC);
  };

  protected lnf(): [FloatArray, FloatArray] {
    return [this.model.weights.lnfw, this.model.weights.lnfb];
  }

  protected lmHead(logits: FloatArray, x: FloatArray, rows: number): void {
    matmulW(this.k, logits, x, this.model.weights.wte, rows, this.config.nEmbd, this.config.vocabSize);
  }
}
