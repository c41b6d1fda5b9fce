// Retrieval-augmented prompts: never longer than the context leaves room for, the query's prompt always whole
// at the end (exactly the prompt without retrieval), examples shortened or left out when they do not fit and
// counted; and eval with --rag reports and excludes leaked rows.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../src/eval/evaluate.js';
import { fitRagPrompt } from '../../src/rag/prompt.js';
import { buildStore, openRetriever } from '../../src/rag/retrieve.js';
import { fitPrompt } from '../../src/task/encode.js';
import { renderExample, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { memorise, tinyRows, tinyTokenizer } from '../eval/helpers.js';

const rows = tinyRows(12, 9);
const { tok } = tinyTokenizer(rows);
const text = fc.stringMatching(/^[a-z0-9 ]{0,60}$/);

describe('fitRagPrompt', () => {
  it('never exceeds the context and never cuts the query (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ instruction: text, input: text, output: fc.constantFrom('Tap', 'Hold', 'Double tap') }), { maxLength: 6 }), fc.record({ instruction: text, input: text }), fc.integer({ min: 24, max: 160 }), fc.integer({ min: 0, max: 8 }), (shots, query, ctx, reserve) => {
        const opts = { template: TINYLLM_TEMPLATE, contextLength: ctx };
        let alone;
        try {
          alone = fitPrompt(tok, query, reserve, opts, 'q');
        } catch {
          return; // the query does not fit even alone: the same error with and without retrieval
        }
        const p = fitRagPrompt(tok, query, shots, reserve, opts, 'q');
        expect(p.ids.length + reserve).toBeLessThanOrEqual(ctx + 1);
        expect(p.ids[0]).toBe(tok.eotToken);
        expect(p.ids.slice(p.ids.length - alone.ids.length + 1)).toEqual(alone.ids.slice(1)); // the query's prompt, whole, last
        expect(p.inputKept).toBe(alone.inputKept);
        expect(p.used + p.dropped).toBe(shots.length);
        expect(p.shortened).toBeLessThanOrEqual(p.used);
      }),
      { numRuns: 150 },
    );
  });

  it('puts whole examples, nearest last, when they fit', () => {
    const shots = [rows[0], rows[1]];
    const q = { instruction: '', input: 'p: 1 2 3' };
    const p = fitRagPrompt(tok, q, shots, 4, { template: TINYLLM_TEMPLATE, contextLength: 1000 }, 'q');
    expect([p.used, p.shortened, p.dropped]).toEqual([2, 0, 0]);
    const sep = TINYLLM_TEMPLATE.separator;
    const expected = renderExample(TINYLLM_TEMPLATE, rows[1]) + sep + renderExample(TINYLLM_TEMPLATE, rows[0]) + sep + '### Input:\np: 1 2 3\n\n### Response:\n';
    expect(tok.decode(p.ids.slice(1))).toBe(expected);
  });

  it('shortens an example, then leaves the rest out, in a small context', () => {
    const long = { instruction: '', input: Array.from({ length: 40 }, (_, i) => i).join(' '), output: 'Tap' };
    const q = { instruction: '', input: 'p: 1' };
    const alone = fitPrompt(tok, q, 3, { template: TINYLLM_TEMPLATE, contextLength: 64 }, 'q').ids.length;
    const p = fitRagPrompt(tok, q, [long, long], 3, { template: TINYLLM_TEMPLATE, contextLength: 64 }, 'q');
    expect(alone).toBeLessThan(30);
    expect([p.used, p.shortened, p.dropped]).toEqual([1, 1, 1]);
    expect(p.ids.length + 3).toBeLessThanOrEqual(65);
  });
});

describe('eval --rag', () => {
  const train = tinyRows(12, 9, 'train.jsonl');
  const test = tinyRows(6, 21, 'test.jsonl');
  const model = memorise(tok, train, 20);
  const opts = { template: TINYLLM_TEMPLATE, contextLength: model.config.blockSize, k: 2, generate: false };

  it('detects evaluated rows that are in the store, excludes them by default, keeps them on request', () => {
    const leaked = [...train, test[1], test[4]];
    const retriever = openRetriever(buildStore(leaked, 'numbers', 'leaky.jsonl'));
    const seen: number[][] = [];
    const spy = { store: retriever.store, search: (q: Parameters<typeof retriever.search>[0], k: number, ex?: ReadonlySet<number>) => (seen.push([...(ex ?? [])]), retriever.search(q, k, ex)) };
    const r = evaluate(model, tok, test, train, { ...opts, rag: { retriever: spy, k: 2 } });
    expect(r.rag?.leakedRows).toBe(2);
    expect(r.rag?.leaksExcluded).toBe(true);
    expect(seen[1]).toEqual([12]);
    expect(seen[4]).toEqual([13]);
    expect(seen[0]).toEqual([]);
    seen.length = 0;
    const kept = evaluate(model, tok, test, train, { ...opts, rag: { retriever: spy, k: 2, keepLeaks: true } });
    expect(kept.rag?.leaksExcluded).toBe(false);
    expect(seen.every((s) => s.length === 0)).toBe(true);
    // with the copies kept, row 1 retrieves its own copy first
    expect(retriever.search(test[1], 1)).toEqual([12]);
  });

  it('reports how many examples went into the prompts', () => {
    const r = evaluate(model, tok, test, train, { ...opts, rag: { retriever: openRetriever(buildStore(train, 'bm25', 'train.jsonl')), k: 2 } });
    expect(r.rag?.used).toBe(r.rows * 2 - (r.rag?.dropped ?? 0));
    expect(r.rag?.leakedRows).toBe(0);
  });
});
