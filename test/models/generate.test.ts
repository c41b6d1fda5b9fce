// KV-cache decoding against the full forward pass, sampling rules, and text generation with stop strings.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ref } from '../../src/kernels/index.js';
import { KVDecoder, logProbOf, PREFILL_CHUNK, SCORE_ROWS } from '../../src/models/gpt2/decode.js';
import { generateText, generateTokens, type TextCodec } from '../../src/models/gpt2/generate.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { plainF32, plainF64 } from '../../src/models/gpt2/params.js';
import { argmax, Sampler } from '../../src/models/gpt2/sampling.js';
import { Rng } from '../../src/util/rng.js';

describe('KVDecoder', () => {
  it('gives the same logits as the training forward at every position, however the tokens are fed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: PREFILL_CHUNK + 10 }),
        fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 1000 }),
        (nLayer, nHead, T, splits, seed) => {
          const V = 11;
          const model = new GPT2({ nLayer, nHead, nEmbd: 4 * nHead, vocabSize: V, blockSize: T }, { kernels: ref, alloc: plainF64, seed });
          const rng = new Rng(seed);
          for (let i = 0; i < model.params.size; i++) model.params.data[i] += rng.normal(0, 0.2);
          const ids = Int32Array.from({ length: T }, () => rng.int(V));
          model.forward(ids, null, 1, T);
          const full = model.logits();
          const dec = new KVDecoder(model);
          let at = 0;
          let s = 0;
          while (at < T) {
            const n = Math.min(splits[s++ % splits.length], T - at);
            const logits = dec.feed(ids.subarray(at, at + n));
            at += n;
            for (let v = 0; v < V; v++) expect(logits[v]).toBeCloseTo(full[(at - 1) * V + v], 10);
          }
          expect(dec.pos).toBe(T);
          expect(() => dec.feed([0])).toThrow(/exceed/);
        },
      ),
      { numRuns: 20, seed: 7 },
    );
  });
});

describe('KVDecoder rewind / fork / feedScored', () => {
  const randomModel = (seed: number, T: number) => {
    const model = new GPT2({ nLayer: 2, nHead: 2, nEmbd: 8, vocabSize: 13, blockSize: T }, { kernels: ref, alloc: plainF64, seed });
    const rng = new Rng(seed);
    for (let i = 0; i < model.params.size; i++) model.params.data[i] += rng.normal(0, 0.3);
    return { model, rng };
  };
  /** log p(ids[i+1] | ids[..i]) for every i, from one training forward over the whole sequence. */
  const freshLogProbs = (model: GPT2, ids: Int32Array): number[] => {
    const V = model.config.vocabSize;
    model.forward(ids, null, 1, ids.length);
    const full = model.logits();
    return Array.from({ length: ids.length - 1 }, (_, i) => logProbOf(full.subarray(i * V, (i + 1) * V), ids[i + 1]));
  };

  /** Two random T-token sequences a, b that share a[0..at) and differ from position at on. */
  const divergingPair = (seed: number, T: number, at: number) => {
    const { model, rng } = randomModel(seed, T);
    const V = model.config.vocabSize;
    const a = Int32Array.from({ length: T }, () => rng.int(V));
    const b = a.slice();
    b[at] = (a[at] + 1) % V;
    for (let i = at + 1; i < T; i++) b[i] = rng.int(V);
    return { model, V, a, b, at };
  };

  it('rewinding the cache and re-feeding gives the log-probabilities of a fresh prefill', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: PREFILL_CHUNK + 12 }), fc.nat(), fc.integer({ min: 0, max: 1000 }), (T, cut, seed) => {
        const { model, V, a, b, at } = divergingPair(seed, T, 1 + (cut % (T - 1)));
        const dec = new KVDecoder(model);
        dec.feed(a); // fill the cache with a's tail, then rewind it away
        dec.rewind(at);
        expect(dec.pos).toBe(at);
        const logits = Float64Array.from(dec.feed(b.subarray(at)));
        const want = freshLogProbs(model, b);
        const V2 = model.logits();
        for (let v = 0; v < V; v++) expect(logits[v]).toBeCloseTo(V2[(T - 1) * V + v], 10);
        // feedScored after a rewind: Σ log p over the tail equals the fresh prefill's
        dec.rewind(at - 1);
        const scored = dec.feedScored(b.subarray(at - 1));
        const sum = want.slice(at - 1).reduce((x, y) => x + y, 0);
        expect(scored).toBeCloseTo(sum, 9);
        expect(dec.pos).toBe(T - 1); // the last token is scored, not fed
      }),
      { numRuns: 15, seed: 11 },
    );
  });

  it('rewindToShared keeps the prefix the cache shares with a new context; feeding the rest gives a fresh prefill', () => {
    fc.assert(
      fc.property(fc.integer({ min: 3, max: PREFILL_CHUNK + 12 }), fc.nat(), fc.integer({ min: 0, max: 1000 }), (T, cut, seed) => {
        const { model, V, a, b, at } = divergingPair(seed, T, 1 + (cut % (T - 2)));
        const dec = new KVDecoder(model);
        dec.append(a);
        expect(Array.from(dec.tokens)).toEqual(Array.from(a));
        expect(dec.rewindToShared(b)).toBe(at);
        expect(dec.rewindToShared(b, at - 1)).toBe(at - 1); // at most max
        expect(dec.pos).toBe(at - 1);
        const logits = dec.feed(b.subarray(at - 1));
        expect(Array.from(dec.tokens)).toEqual(Array.from(b));
        freshLogProbs(model, b);
        const full = model.logits();
        for (let v = 0; v < V; v++) expect(logits[v]).toBeCloseTo(full[(T - 1) * V + v], 10);
        dec.reset();
        expect(dec.rewindToShared(b)).toBe(0);
      }),
      { numRuns: 15, seed: 13 },
    );
  });

  it('scoreBranches scores each branch as a fresh forward, flags the greedy one, and leaves context + first', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 30 }), fc.integer({ min: 0, max: 1000 }), (P, seed) => {
        const { model, rng } = randomModel(seed, P + 6);
        const V = model.config.vocabSize;
        const prompt = Int32Array.from({ length: P }, () => rng.int(V));
        // the greedy continuation of the prompt, 4 tokens, from fresh forwards
        const greedy: number[] = [];
        for (let i = 0; i < 4; i++) {
          const ids = Int32Array.from([...prompt, ...greedy]);
          model.forward(ids, null, 1, ids.length);
          greedy.push(argmax(model.logits().subarray((ids.length - 1) * V, ids.length * V)));
        }
        const changed = [...greedy];
        changed[3] = (changed[3] + 1) % V;
        const branches = [greedy, changed, [rng.int(V)], Array.from({ length: 6 }, () => rng.int(V))];
        const dec = new KVDecoder(model, P + 5);
        dec.append(prompt.subarray(0, P - 1));
        const r = dec.scoreBranches(prompt[P - 1], branches);
        branches.forEach((br, i) => {
          const want = freshLogProbs(model, Int32Array.from([...prompt, ...br])).slice(P - 1);
          expect(r.scores[i]).toBeCloseTo(want.reduce((x, y) => x + y, 0), 9);
          expect(r.leadingScores[i]).toBe(r.scores[i]); // without leading counts: every token
        });
        expect(r.greedy.slice(0, 2)).toEqual([true, false]);
        expect(dec.pos).toBe(P);
        expect(Array.from(dec.tokens)).toEqual(Array.from(prompt));
        expect(() => dec.scoreBranches(0, [Array.from({ length: 6 }, () => 0)])).toThrow(/exceed the context/);
      }),
      { numRuns: 15, seed: 17 },
    );
  });

  it('scoreBranches gives the same scores, and the sums over the leading tokens of each branch, when its branches fill several chunks or one is longer than a chunk', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 1000 }), (P, seed) => {
        const long = SCORE_ROWS + 3; // fed on its own
        const { model, rng } = randomModel(seed, P + long);
        const V = model.config.vocabSize;
        const prompt = Int32Array.from({ length: P }, () => rng.int(V));
        // ~30 branches of 1..8 tokens: more rows than one chunk of SCORE_ROWS holds
        const branches = Array.from({ length: 30 }, () => Array.from({ length: 1 + rng.int(8) }, () => rng.int(V)));
        branches.splice(rng.int(30), 0, Array.from({ length: long }, () => rng.int(V)));
        const dec = new KVDecoder(model);
        dec.append(prompt.subarray(0, P - 1));
        const leading = branches.map((br) => rng.int(br.length + 1));
        const r = dec.scoreBranches(prompt[P - 1], branches, V, leading);
        branches.forEach((br, i) => {
          const want = freshLogProbs(model, Int32Array.from([...prompt, ...br])).slice(P - 1);
          expect(r.scores[i]).toBeCloseTo(want.reduce((x, y) => x + y, 0), 9);
          expect(r.leadingScores[i]).toBeCloseTo(want.slice(0, leading[i]).reduce((x, y) => x + y, 0), 9);
        });
        expect(Array.from(dec.tokens)).toEqual(Array.from(prompt));
        expect(() => dec.scoreBranches(0, branches, V, leading.slice(1))).toThrow(/leading counts/);
        // a token outside the vocabulary (even one that is only scored) is refused before the cache changes
        for (const bad of [[...branches[0], V], [-1]]) {
          expect(() => dec.scoreBranches(0, [bad])).toThrow(/outside the vocabulary/);
          expect(Array.from(dec.tokens)).toEqual(Array.from(prompt));
        }
      }),
      { numRuns: 6, seed: 23 },
    );
  });

  it('a fork scores a continuation like the original, and neither disturbs the other', () => {
    const { model, rng } = randomModel(5, 40);
    const V = model.config.vocabSize;
    const prefix = Array.from({ length: 20 }, () => rng.int(V));
    const cands = [0, 1, 2].map(() => Array.from({ length: 5 }, () => rng.int(V)));
    const dec = new KVDecoder(model);
    const before = Float64Array.from(dec.feed(prefix));
    const fork = dec.fork();
    const other = new KVDecoder(model, 30);
    for (const c of cands) {
      const want = freshLogProbs(model, Int32Array.from([...prefix, ...c])).slice(prefix.length - 1);
      const total = want.reduce((x, y) => x + y, 0);
      expect(logProbOf(before, c[0]) + fork.feedScored(c)).toBeCloseTo(total, 9);
      fork.rewind(prefix.length);
      other.copyFrom(dec);
      expect(logProbOf(before, c[0]) + other.feedScored(c)).toBeCloseTo(total, 9);
    }
    expect(dec.pos).toBe(prefix.length);
    expect(() => dec.rewind(21)).toThrow(/outside/);
    expect(() => new KVDecoder(model, 10).copyFrom(dec)).toThrow(/capacity/);
  });
});

describe('Sampler', () => {
  const logits = Float32Array.of(0.1, 2, -1, 1.9, 0.5);

  it('temperature 0, top-k 1 and a tiny top-p all pick the argmax', () => {
    const rng = new Rng(1);
    expect(new Sampler(5, { temperature: 0 }).sample(logits, rng)).toBe(1);
    for (let i = 0; i < 20; i++) {
      expect(new Sampler(5, { topK: 1 }).sample(logits, rng)).toBe(1);
      expect(new Sampler(5, { topP: 1e-6 }).sample(logits, rng)).toBe(1);
    }
  });

  it('top-k and top-p never pick outside the allowed set; frequencies follow the softmax', () => {
    fc.assert(
      fc.property(fc.array(fc.float({ min: -5, max: 5, noNaN: true }), { minLength: 2, maxLength: 20 }), fc.integer({ min: 1, max: 20 }), (xs, k) => {
        const x = Float32Array.from(xs);
        const rng = new Rng(k);
        const sorted = [...x].sort((a, b) => b - a);
        const kk = Math.min(k, x.length);
        const s = new Sampler(x.length, { topK: kk });
        for (let i = 0; i < 30; i++) expect(x[s.sample(x, rng)]).toBeGreaterThanOrEqual(sorted[kk - 1]);
      }),
      { numRuns: 50, seed: 3 },
    );
    const rng = new Rng(5);
    const s = new Sampler(5, { topP: 0.9 });
    const counts = new Array(5).fill(0);
    for (let i = 0; i < 4000; i++) counts[s.sample(logits, rng)]++;
    // probs ≈ [.064, .430, .021, .389, .096]: cumulative .430, .819, .915, so the nucleus for 0.9 is {1, 3, 4}
    expect(counts[0] + counts[2]).toBe(0);
    expect(counts[1] / 4000).toBeGreaterThan(0.43);
    expect(counts[4]).toBeGreaterThan(0);
  });

  it('draws exactly what a full sort would give for top-k and top-p (ties, -Infinity included)', () => {
    // reference: sort all weights descending, cut at the k-th largest logit, then at the nucleus mass
    const refSample = (x: Float32Array, k: number, p: number, r: number): number => {
      const desc = [...x].sort((a, b) => b - a);
      const cut = k > 0 && k < x.length ? desc[k - 1] : -Infinity;
      const max = desc[0];
      const w = Array.from(x, (v) => (v >= cut ? Math.exp(v - max) : 0));
      let sum = w.reduce((a, b) => a + b, 0);
      if (p < 1) {
        const ws = [...w].sort((a, b) => b - a);
        let acc = 0;
        let pcut = ws[ws.length - 1];
        for (const v of ws) if ((acc += v) >= p * sum) { pcut = v; break; }
        for (let i = 0; i < w.length; i++) if (w[i] < pcut) w[i] = 0;
        sum = w.reduce((a, b) => a + b, 0);
      }
      let rest = r * sum;
      let last = 0;
      for (let i = 0; i < w.length; i++) {
        if (w[i] === 0) continue;
        last = i;
        if ((rest -= w[i]) < 0) return i;
      }
      return last;
    };
    const logit = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.float({ min: -5, max: 5, noNaN: true }), fc.constant(-Infinity));
    fc.assert(
      fc.property(fc.array(logit, { minLength: 2, maxLength: 40 }), fc.integer({ min: 0, max: 45 }), fc.double({ min: 0.05, max: 1, noNaN: true }), fc.integer(), (xs, k, p, seed) => {
        const x = Float32Array.from(xs);
        fc.pre(x.some((v) => v > -Infinity));
        const s = new Sampler(x.length, { topK: k, topP: p });
        const rng = new Rng(seed);
        const twin = new Rng(seed);
        for (let i = 0; i < 10; i++) expect(s.sample(x, rng)).toBe(refSample(x, k, p, twin.random()));
      }),
      { numRuns: 300 },
    );
  });

  it('repetition penalty turns the top choice away from a seen token; the same seed gives the same draws', () => {
    const greedy = new Sampler(5, { temperature: 0, repetitionPenalty: 1.2 });
    expect(greedy.sample(logits, new Rng(1), [1])).toBe(3);
    const a = new Sampler(5, {});
    const r1 = new Rng(9);
    const r2 = new Rng(9);
    const d1 = Array.from({ length: 50 }, () => a.sample(logits, r1));
    const d2 = Array.from({ length: 50 }, () => a.sample(logits, r2));
    expect(d1).toEqual(d2);
    expect(new Set(d1).size).toBeGreaterThan(2);
    expect(() => new Sampler(5, { topP: 0 })).toThrow(/top-p/);
    expect(argmax([1, 3, 2])).toBe(1);
  });
});

describe('generation', () => {
  const V = 40;
  const mk = () => new GPT2({ nLayer: 2, nHead: 2, nEmbd: 8, vocabSize: V, blockSize: 8 }, { kernels: ref, alloc: plainF32, seed: 11 });
  // a character codec over ' '..'F' plus EOT = 39
  const codec: TextCodec = {
    eotToken: 39,
    encode: (t) => Array.from(t, (ch) => ch.charCodeAt(0) - 32),
    createStreamDecoder: () => ({ push: (id) => (id === 39 ? '' : String.fromCharCode(id + 32)), flush: () => '' }),
  };

  it('greedy generation equals argmax of the full forward, past the block size (sliding window)', () => {
    const model = mk();
    const out = [...generateTokens(model, [1, 2, 3], { maxTokens: 20, temperature: 0 })];
    expect(out.length).toBe(20);
    // the first 5 tokens still fit in the block: check them against the plain forward
    const ctx = [1, 2, 3];
    for (let i = 0; i < 5; i++) {
      model.forward(Int32Array.from(ctx), null, 1, ctx.length);
      const l = model.logits().subarray((ctx.length - 1) * V, ctx.length * V);
      expect(out[i]).toBe(argmax(l));
      ctx.push(out[i]);
    }
  });

  it('is reproducible for a seed, stops at stop tokens and stop strings, streams exactly the final text', () => {
    const model = mk();
    const a = [...generateTokens(model, [5], { maxTokens: 30, seed: 4 })];
    const b = [...generateTokens(model, [5], { maxTokens: 30, seed: 4 })];
    expect(a).toEqual(b);
    const stop = a[3];
    const c = [...generateTokens(model, [5], { maxTokens: 30, seed: 4, stopTokens: [stop] })];
    expect(c).toEqual(a.slice(0, a.indexOf(stop)));

    const full = generateText(model, codec, '%', { maxTokens: 30, seed: 4, stopTokens: [] });
    expect(full.reason).toBe('max-tokens');
    expect(full.tokens.length).toBe(30);
    const stopString = full.text.slice(10, 12);
    const pieces: string[] = [];
    const cut = generateText(model, codec, '%', { maxTokens: 30, seed: 4, stopTokens: [], stopStrings: [stopString], onText: (p) => pieces.push(p) });
    expect(cut.reason).toBe('stop-string');
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stopString)));
    expect(pieces.join('')).toBe(cut.text);
  });

  it('samples no id the tokenizer cannot decode when the model’s vocabulary is padded past it', () => {
    const model = mk();
    const narrow: TextCodec = { ...codec, vocabSize: 20 };
    // temperature 5 spreads the draws over the whole vocabulary: without the limit ids ≥ 20 are all but certain
    const wide = generateText(model, codec, '%', { maxTokens: 200, seed: 2, temperature: 5, topK: 0, stopTokens: [] });
    expect(Math.max(...wide.tokens)).toBeGreaterThanOrEqual(20);
    const r = generateText(model, narrow, '%', { maxTokens: 200, seed: 2, temperature: 5, topK: 0, stopTokens: [] });
    expect(r.tokens.length).toBe(200);
    expect(Math.max(...r.tokens)).toBeLessThan(20);
  });
});
