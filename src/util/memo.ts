// One value per object, made on first use and kept while the object lives (a WeakMap): the shared KV-cache
// decoder of a model, for the training model (models/gpt2/decode.ts) and the runtime (runtime/index.ts) alike.

/** Returns f such that f(k) is make(k) on the first call for k and the same value after. */
export function perObject<K extends object, V>(make: (k: K) => V): (k: K) => V {
  const values = new WeakMap<K, V>();
  return (k) => {
    let v = values.get(k);
    if (v === undefined) {
      v = make(k);
      values.set(k, v);
    }
    return v;
  };
}
