// Building a store's keys and exact search over them. A row's key text is its instruction and input (the
// same text the eval baselines read numbers from). numbers: the standardised numbers of features.ts, nearest
// by Euclidean distance (the k-NN baseline's search); embed: unit-length GPT-2 states, nearest by Euclidean
// distance = largest cosine; bm25: largest score. Ties go to the lower row. Exact search costs one pass over
// all keys per query: O(rows · dim), see docs/rag.md for where that stops being fine.
import { nearestRows } from '../eval/baselines.js';
import { featurize, fitFeatures, type FeatureSpace } from '../eval/features.js';
import type { GPT2 } from '../models/gpt2/model.js';
import type { SequenceCodec } from '../task/sequence.js';
import type { TaskFields } from '../task/template.js';
import { UserError } from '../util/errors.js';
import { Bm25Index, BM25_B, BM25_K1 } from './bm25.js';
import { embedTexts } from './embed.js';
import type { KeyKind, Store, StoredRow } from './store.js';

/** The text a row is keyed by. */
export function keyText(e: TaskFields): string {
  return `${e.instruction}\n${e.input}`;
}

/** The model that embeds rows and queries for an embed key (the same one for both). */
export interface Embedder {
  model: GPT2;
  codec: SequenceCodec;
  layer: number;
  /** As recorded in the store: the model path and tokenizer name. */
  modelPath: string;
  tokenizer: string;
  sequenceStart: 'endoftext' | 'none';
  allowSpecial: boolean;
}

/** A store over rows with keys of the given kind. */
export function buildStore(rows: StoredRow[], kind: KeyKind, source: string, embedder?: Embedder, onRow?: (done: number) => void): Store {
  const texts = rows.map(keyText);
  const labelled = rows.every((r) => r.output !== '');
  if (kind === 'bm25') return { key: { kind, k1: BM25_K1, b: BM25_B }, source, labelled, rows, dim: 0, keys: new Float64Array(0) };
  if (kind === 'numbers') {
    const space = fitFeatures(texts);
    if (space.dim === 0) throw new UserError(`${source}: the rows hold no numbers, so --key numbers has nothing to compare; use --key bm25 or embed`);
    const f = featurize(space, texts);
    return { key: { kind, mean: [...space.mean], std: [...space.std], trainMismatched: space.trainMismatched }, source, labelled, rows, dim: space.dim, keys: f.x };
  }
  if (!embedder) throw new UserError('--key embed needs a model (--ckpt) to embed the rows with');
  const { model, codec, layer } = embedder;
  const { vectors } = embedTexts(model, codec, texts, { layer, start: embedder.sequenceStart, allowSpecial: embedder.allowSpecial }, onRow);
  const key = { kind, layer, model: embedder.modelPath, config: model.config, tokenizer: embedder.tokenizer, sequenceStart: embedder.sequenceStart, allowSpecial: embedder.allowSpecial };
  return { key, source, labelled, rows, dim: model.config.nEmbd, keys: vectors };
}

export interface Retriever {
  readonly store: Store;
  /** Rows of the k best matches for the query, best first, leaving out the rows in `exclude`. */
  search(query: TaskFields, k: number, exclude?: ReadonlySet<number>): number[];
}

/** Exact search over a store (an embed store needs the same model it was built with). */
export function openRetriever(store: Store, embedder?: Embedder): Retriever {
  const { key, dim } = store;
  const n = store.rows.length;
  const stored = { x: store.keys, n, mismatched: 0 };
  const dense = (q: Float64Array, k: number, exclude?: ReadonlySet<number>) => {
    const want = Math.min(n, k + (exclude?.size ?? 0));
    return nearestRows(stored, { x: q, n: 1, mismatched: 0 }, 0, want).filter((j) => !exclude?.has(j)).slice(0, k);
  };
  if (key.kind === 'numbers') {
    const space: FeatureSpace = { dim, mean: Float64Array.from(key.mean), std: Float64Array.from(key.std), trainMismatched: key.trainMismatched };
    return { store, search: (q, k, ex) => dense(featurize(space, [keyText(q)]).x, k, ex) };
  }
  if (key.kind === 'embed') {
    if (!embedder) throw new UserError(`this store is keyed by embeddings of ${key.model}; the query needs that model`);
    const c = embedder.model.config;
    if (c.nEmbd !== dim || c.nLayer !== key.config.nLayer || c.vocabSize !== key.config.vocabSize) {
      throw new UserError(`the store's embeddings come from a model with L=${key.config.nLayer} C=${dim}, not this one (L=${c.nLayer} C=${c.nEmbd}); index again with this model`);
    }
    const opts = { layer: key.layer, start: key.sequenceStart, allowSpecial: key.allowSpecial };
    return { store, search: (q, k, ex) => dense(embedTexts(embedder.model, embedder.codec, [keyText(q)], opts).vectors, k, ex) };
  }
  const bm25 = new Bm25Index(store.rows.map(keyText), key.k1, key.b);
  return {
    store,
    search(q, k, exclude) {
      const s = bm25.scores(keyText(q));
      const order = Array.from({ length: n }, (_, i) => i).filter((i) => !exclude?.has(i));
      order.sort((a, b) => s[b] - s[a] || a - b);
      return order.slice(0, k);
    },
  };
}
