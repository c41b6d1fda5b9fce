// Okapi BM25 lexical scores of stored texts for a query (Robertson & Zaragoza, "The Probabilistic Relevance
// Framework: BM25 and Beyond", 2009), with Lucene's non-negative idf: idf(t) = ln(1 + (N − df + 0.5)/(df + 0.5)),
// score(d, q) = Σ over the distinct terms t of q of idf(t)·tf·(k1 + 1) / (tf + k1·(1 − b + b·|d|/avgdl)).
// Terms are lower-cased runs of letters and digits ("12.5" gives "12" and "5"). Built from the texts on open.

export const BM25_K1 = 1.2;
export const BM25_B = 0.75;

/** The terms of a text: lower-cased runs of letters/digits. */
export function bm25Terms(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

export class Bm25Index {
  readonly n: number;
  private readonly postings = new Map<string, { doc: Int32Array; tf: Int32Array }>();
  private readonly docLength: Float64Array;
  private readonly avgdl: number;

  constructor(
    texts: readonly string[],
    readonly k1 = BM25_K1,
    readonly b = BM25_B,
  ) {
    this.n = texts.length;
    this.docLength = new Float64Array(this.n);
    const lists = new Map<string, number[]>(); // term -> [doc, tf, doc, tf, ...]
    texts.forEach((text, d) => {
      const terms = bm25Terms(text);
      this.docLength[d] = terms.length;
      const tf = new Map<string, number>();
      for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
      for (const [t, f] of tf) {
        let l = lists.get(t);
        if (!l) lists.set(t, (l = []));
        l.push(d, f);
      }
    });
    for (const [t, l] of lists) {
      const doc = new Int32Array(l.length / 2);
      const tf = new Int32Array(l.length / 2);
      for (let i = 0; i < doc.length; i++) [doc[i], tf[i]] = [l[2 * i], l[2 * i + 1]];
      this.postings.set(t, { doc, tf });
    }
    this.avgdl = this.n ? this.docLength.reduce((s, x) => s + x, 0) / this.n : 0;
  }

  /** idf of a term (0 for a term in no document: it cannot match). */
  idf(term: string): number {
    const df = this.postings.get(term)?.doc.length ?? 0;
    return df ? Math.log(1 + (this.n - df + 0.5) / (df + 0.5)) : 0;
  }

  /** BM25 score of every stored text for the query (n). */
  scores(query: string): Float64Array {
    const out = new Float64Array(this.n);
    const { k1, b } = this;
    for (const term of new Set(bm25Terms(query))) {
      const p = this.postings.get(term);
      if (!p) continue;
      const idf = this.idf(term);
      for (let i = 0; i < p.doc.length; i++) {
        const d = p.doc[i];
        const f = p.tf[i];
        const norm = this.avgdl > 0 ? 1 - b + (b * this.docLength[d]) / this.avgdl : 1;
        out[d] += (idf * f * (k1 + 1)) / (f + k1 * norm);
      }
    }
    return out;
  }
}
