// Text embeddings from our own GPT-2 for retrieval: the hidden states entering block `layer` (after that
// block's ln_1, i.e. layer-normalised; layer 0 = token + position embeddings, layer i = the output of block
// i − 1), mean-pooled over the text's tokens and scaled to unit length, so Euclidean order is cosine order.
// Runs the model's own forward (no LM head: every target is ignored) and reads the states through its
// linear hook, so it is the exact computation training does.
import type { FloatArray } from '../kernels/types.js';
import type { GPT2, LinearHook } from '../models/gpt2/model.js';
import { encodeSequence, type SequenceCodec, type SequenceStart } from '../task/sequence.js';
import { UserError } from '../util/errors.js';

export interface EmbedOptions {
  layer: number;
  start?: SequenceStart;
  allowSpecial?: boolean;
}

/** The default layer: the deepest one the hook sees (the input of the last block). */
export function defaultEmbedLayer(model: GPT2): number {
  return model.config.nLayer - 1;
}

/** Unit-length mean hidden state (nEmbd) of each text; texts longer than the context keep their first tokens. */
export function embedTexts(model: GPT2, codec: SequenceCodec, texts: readonly string[], opts: EmbedOptions, onText?: (done: number) => void): { vectors: Float64Array; cut: number } {
  const { nLayer, nEmbd: C, blockSize } = model.config;
  if (!Number.isInteger(opts.layer) || opts.layer < 0 || opts.layer >= nLayer) throw new UserError(`--layer ${opts.layer}: the model has layers 0..${nLayer - 1} (0 = embeddings, i = output of block i-1)`);
  const vectors = new Float64Array(texts.length * C);
  let cut = 0;
  let row = 0;
  let skip = 0; // the sequence-start tokens are not pooled
  let tokens = 0;
  const capture: LinearHook = {
    forward(l, site, _out, inp: FloatArray) {
      if (l !== opts.layer || site !== 'attn.c_attn') return;
      const v = vectors.subarray(row * C, (row + 1) * C);
      for (let t = skip; t < tokens; t++) for (let c = 0; c < C; c++) v[c] += inp[t * C + c];
    },
    backward() {
      throw new Error('embedTexts: no backward');
    },
  };
  const saved = model.hook;
  const chained: LinearHook = {
    forward(...a) {
      saved?.forward(...a); // a LoRA adapter, if any, still applies
      capture.forward(...a);
    },
    backward: capture.backward,
  };
  model.hook = chained;
  try {
    texts.forEach((text, i) => {
      row = i;
      let ids = encodeSequence(codec, text, { start: opts.start, allowSpecial: opts.allowSpecial });
      skip = ids.length - codec.encode(text, { allowSpecial: opts.allowSpecial ?? false }).length;
      if (ids.length > blockSize) (ids = ids.slice(0, blockSize)), cut++;
      if (ids.length <= skip) skip = 0; // an empty text: pool the start token, so the vector is defined
      tokens = ids.length;
      const inputs = Int32Array.from(ids);
      model.forward(inputs, new Int32Array(ids.length).fill(-1), 1, ids.length);
      const v = vectors.subarray(i * C, (i + 1) * C);
      let norm = 0;
      for (let c = 0; c < C; c++) norm += v[c] * v[c];
      const inv = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let c = 0; c < C; c++) v[c] *= inv;
      onText?.(i + 1);
    });
  } finally {
    model.hook = saved;
  }
  return { vectors, cut };
}
