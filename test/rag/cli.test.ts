// `tinyllm index` and `--rag` end to end: a store from a task file (numbers, bm25, embed keys) and from a text
// corpus, refusal to overwrite, eval --rag with the leak report and JSON, generate --rag.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStore } from '../../src/rag/store.js';
import { quiet } from '../eval/helpers.js';
import { ragFixture } from './helpers.js';

const { tmp, test, ckpt, trainFile, testFile, leakyFile } = ragFixture('tinyllm-rag-');

describe('tinyllm index', () => {
  it('builds a store per key kind and refuses to overwrite without --force', async () => {
    for (const key of ['numbers', 'bm25', 'embed']) {
      const out = path.join(tmp, `${key}.tlx`);
      const r = await quiet(['index', trainFile, '-o', out, '--key', key, ...(key === 'embed' ? ['--ckpt', ckpt, '--layer', '1'] : [])]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const s = readStore(out);
      expect(s.rows.length).toBe(12);
      expect(s.key.kind).toBe(key);
      expect(s.dim).toBe(key === 'numbers' ? 6 : key === 'bm25' ? 0 : 32);
    }
    const again = await quiet(['index', trainFile, '-o', path.join(tmp, 'numbers.tlx')]);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/numbers\.tlx exists; give --force/);
  });

  it('reads a text corpus as passages', async () => {
    const corpus = path.join(tmp, 'notes.txt');
    fs.writeFileSync(corpus, '\uFEFFfirst passage\r\nstill first\r\n\r\nsecond one\n---\nthird\n');
    const out = path.join(tmp, 'notes.tlx');
    expect((await quiet(['index', corpus, '-o', out])).code).toBe(0);
    const s = readStore(out);
    expect(s.labelled).toBe(false);
    expect(s.rows.map((r) => r.input)).toEqual(['first passage\nstill first', 'second one', 'third']);
  });
});

describe('--rag', () => {
  it('eval: retrieved examples in the prompts, leaks reported and excluded, JSON report', async () => {
    const store = path.join(tmp, 'leaky.tlx');
    expect((await quiet(['index', leakyFile, '-o', store])).code).toBe(0);
    const json = path.join(tmp, 'rag.json');
    const r = await quiet(['eval', '--ckpt', ckpt, '--train', trainFile, '--test', testFile, '--rag', store, '--k', '2', '--method', 'rank', '--json', json]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/retrieval: the 2 nearest of 13 stored examples \(numbers key\)/);
    expect(r.out).toMatch(/LEAK: 1 of 6 evaluated rows are also in the store; their copies were left out/);
    const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(rep.rag.leakedRows).toBe(1);
    expect(rep.rag.used + rep.rag.dropped).toBe(12);
  });

  it('eval with an embed store re-embeds queries with the store model', async () => {
    const r = await quiet(['eval', '--ckpt', ckpt, '--train', trainFile, '--test', testFile, '--rag', path.join(tmp, 'embed.tlx'), '--k', '1', '--method', 'rank']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/retrieval: the 1 nearest of 12 stored examples \(embed key\)/);
  });

  it('eval -m model.tllm: the runtime (f32 export equals the checkpoint; int8 runs) with --rag', async () => {
    const json = (name: string) => path.join(tmp, `${name}.json`);
    const args = ['--train', trainFile, '--test', testFile, '--rag', path.join(tmp, 'numbers.tlx'), '--k', '2', '--method', 'rank', '--force'];
    expect((await quiet(['eval', '--ckpt', ckpt, ...args, '--json', json('ckpt')])).code).toBe(0);
    for (const dtype of ['f32', 'int8']) {
      const tllm = path.join(tmp, `model-${dtype}.tllm`);
      const ex = await quiet(['export', ckpt, `--${dtype}`, '-o', tllm]);
      expect(ex.code, ex.err).toBe(0);
      const r = await quiet(['eval', '-m', tllm, ...args, '--json', json(dtype)]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/retrieval: the 2 nearest of 12 stored examples/);
    }
    const read = (name: string) => JSON.parse(fs.readFileSync(json(name), 'utf8'));
    expect(read('f32').results.map((x: { ranked: string }) => x.ranked)).toEqual(read('ckpt').results.map((x: { ranked: string }) => x.ranked));
    expect(read('f32').rag).toEqual(read('ckpt').rag);
    expect(read('int8').rows).toBe(6);
  });

  it('eval refuses a store of unlabelled passages', async () => {
    const r = await quiet(['eval', '--ckpt', ckpt, '--train', trainFile, '--test', testFile, '--rag', path.join(tmp, 'notes.tlx')]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/unlabelled passages/);
  });

  it('generate: the prompt becomes the query of the template', async () => {
    const r = await quiet(['generate', '--ckpt', ckpt, '--prompt', test[0].input, '--rag', path.join(tmp, 'numbers.tlx'), '--k', '2', '--temperature', '0', '-n', '4']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^\[retrieval: 1 of 2 retrieved examples \(store rows \d+; 0 shortened, 1 left out to fit the context\)\]$/); // the context is 64 tokens
    const passages = await quiet(['generate', '--ckpt', ckpt, '--prompt', 'second', '--rag', path.join(tmp, 'notes.tlx'), '--k', '3', '-n', '2']);
    expect(passages.err).toBe('[retrieval: 3 of 3 retrieved passages fit the context]');
  });
});
