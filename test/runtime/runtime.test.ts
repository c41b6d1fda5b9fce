// The runtime against the training model on the same weights: f32 exports decode to identical logits and text,
// f16/int8 ones within stated tolerances; rewind/fork/feedScored against fresh decoding; and the runtime's
// import graph reaches no training code (nor does the server's, nor retrieval's: generate -m/serve --rag).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KVDecoder } from '../../src/models/gpt2/decode.js';
import { generateText } from '../../src/models/gpt2/generate.js';
import { logProbOf } from '../../src/models/gpt2/block-decode.js';
import { Decoder, generate, loadModel } from '../../src/runtime/index.js';
import { Rng } from '../../src/util/rng.js';
import { byteTokenizer, exportTiny, tempDir, tinyModel } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/** Max |Δlogit| between the runtime and the training model over every position of `ids`, and the logit range. */
function compare(dec: Decoder, kv: KVDecoder, ids: number[]): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  for (const id of ids) {
    const a = dec.feed([id]);
    const b = kv.feed([id]);
    for (let v = 0; v < a.length; v++) err = Math.max(err, Math.abs(a[v] - b[v]));
    scale = Math.max(scale, maxAbs(b));
  }
  return { err, scale };
}

describe('runtime vs the training model on the same weights', () => {
  const model = tinyModel(3);
  const rng = new Rng(9);
  const ids = Array.from({ length: 80 }, () => rng.int(257));

  it('f32 export: identical logits at every position, prefill in one chunk or token by token', () => {
    const m = loadModel(exportTiny(model, { weights: 'f32', embedding: 'f32', group: 0 }, dir, 'f32.tllm'));
    const dec = new Decoder(m, { kernels: model.kernels });
    const kv = new KVDecoder(model);
    expect(compare(dec, kv, ids).err).toBe(0);
    dec.reset();
    kv.reset();
    expect(Array.from(dec.feed(ids))).toEqual(Array.from(kv.feed(ids)));
  });

  it('f16 and int8 exports stay within their tolerances (relative to the largest logit)', () => {
    // stated tolerances on this model: f16 weights 0.5%, int8 per group of 32 or 64 2%, per row 2.5%
    const cases: [string, Parameters<typeof exportTiny>[1], number][] = [
      ['f16', { weights: 'f16', embedding: 'f16', group: 0 }, 0.005],
      ['int8 g32', { weights: 'int8', embedding: 'int8', group: 32 }, 0.02],
      ['int8 g64 f16 embedding', { weights: 'int8', embedding: 'f16', group: 64 }, 0.02],
      ['int8 per row', { weights: 'int8', embedding: 'int8', group: 0 }, 0.025],
    ];
    for (const [name, scheme, tol] of cases) {
      const m = loadModel(exportTiny(model, scheme, dir, `${name.replace(/ /g, '-')}.tllm`));
      const { err, scale } = compare(new Decoder(m, { capacity: 80 }), new KVDecoder(model, 80), ids);
      expect(err / scale, name).toBeLessThan(tol);
      expect(err, `${name} is not an f32 copy`).toBeGreaterThan(0);
    }
  });

  it('greedy text from the f32 export equals the training model’s', () => {
    const m = loadModel(exportTiny(model, { weights: 'f32', embedding: 'f32', group: 0 }, dir, 'text.tllm'));
    const opts = { maxTokens: 30, temperature: 0, stopTokens: [] };
    const ours = generate(new Decoder(m, { kernels: model.kernels }), 'abc', opts);
    const theirs = generateText(model, byteTokenizer, 'abc', opts); // both put <|endoftext|> first, as training documents
    expect(ours.tokens).toEqual(theirs.tokens);
    expect(ours.text).toBe(theirs.text);
  });
});

describe('runtime decoder state', () => {
  const model = tinyModel(5);
  const m = loadModel(exportTiny(model, { weights: 'int8', embedding: 'int8', group: 32 }, dir, 'state.tllm'));

  it('rewind and fork continue exactly as a fresh decoder fed the same tokens', () => {
    const a = [1, 2, 3, 4, 5, 6, 7];
    const b = [40, 41, 42];
    const fresh = new Decoder(m, { capacity: 32 });
    const want = Array.from(fresh.feed([...a.slice(0, 4), ...b]));
    const dec = new Decoder(m, { capacity: 32 });
    dec.feed(a);
    const fork = dec.fork();
    dec.rewind(4);
    expect(Array.from(dec.feed(b))).toEqual(want);
    fork.rewind(4);
    expect(Array.from(fork.feed(b))).toEqual(want);
    expect(() => dec.rewind(99)).toThrow(/outside/);
  });

  it('feedScored sums the log-probabilities of step-by-step decoding', () => {
    const rng = new Rng(2);
    const ids = Array.from({ length: 70 }, () => rng.int(257));
    const dec = new Decoder(m, { capacity: 80 });
    let want = 0;
    for (let i = 0; i + 1 < ids.length; i++) want += logProbOf(dec.feed([ids[i]]), ids[i + 1]);
    dec.reset();
    expect(dec.feedScored(ids)).toBeCloseTo(want, 3);
  });
});

/** src files (relative to src/) that `root`'s static imports reach (type-only imports left out). */
function importGraph(root: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const src = fs.readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^(?:import|export)\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)\.js'/gm)) {
      visit(path.resolve(path.dirname(file), `${m[1]}.ts`));
    }
  };
  visit(path.resolve('src', root));
  return [...seen].map((f) => path.relative(path.resolve('src'), f));
}

describe('runtime import graph', () => {
  it('reaches no training code from src/runtime/index.ts', () => {
    const files = importGraph('runtime/index.ts');
    expect(files).toContain('kernels/int8.ts');
    // the prompt template renderer is shared with training, from a module that has no training deps
    expect(files).toEqual(expect.arrayContaining(['runtime/prompt.ts', 'task/template.ts', 'task/encode.ts']));
    expect(files.filter((f) => /^(train|autograd|nn|finetune|eval|data)\/|models\/gpt2\/(model|decode|generate)\.ts$/.test(f))).toEqual([]);
  });

  // what serve and generate -m load for --rag (a numbers or BM25 store): retrieval reuses eval's k-NN search
  // (eval/features, eval/baselines) and the task file reader, but nothing that trains
  it.each(['serve/server.ts', 'cli/commands/serve.ts', 'rag/query.ts', 'rag/generate.ts', 'cli/commands/index.ts'])('reaches no training code from src/%s', (root) => {
    const files = importGraph(root);
    expect(files.length).toBeGreaterThan(3);
    expect(files.filter((f) => /^(train|autograd|nn|finetune)\/|models\/gpt2\/(model|decode|generate)\.ts$/.test(f))).toEqual([]);
  });
});
