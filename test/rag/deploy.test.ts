// Retrieval on the deployment runtime: `generate -m model.tllm --rag` and `serve --rag` build, for a row, the
// very prompt `eval --rag` builds (same retrieval, same template, same fitting), on f32 and int8 files; the
// prompt never exceeds the context and a query is never cut (refused instead); leaks are reported and excluded.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { promptSettings, runtimeEvaluated } from '../../src/cli/commands/eval.js';
import { openServeRag } from '../../src/cli/commands/serve.js';
import { evaluate } from '../../src/eval/evaluate.js';
import { scoreCandidates } from '../../src/eval/score.js';
import { decidingLengths, labelCandidates } from '../../src/task/encode.js';
import { ragPrompt } from '../../src/rag/generate.js';
import { openRetriever } from '../../src/rag/retrieve.js';
import { readStore } from '../../src/rag/store.js';
import { Decoder, generate, loadModel, sequenceStartOf, type LoadedModel } from '../../src/runtime/index.js';
import { ModelServer } from '../../src/serve/server.js';
import type { ServeRag } from '../../src/serve/rag.js';
import { answerEnd, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { LABELS, quiet } from '../eval/helpers.js';
import { exportModel, F32, postJson, smallConfig, streamPost } from '../serve/helpers.js';
import { ragFixture } from './helpers.js';

const { tmp, train, test, ckpt, trainFile, testFile, leakyFile } = ragFixture('tinyllm-ragdeploy-'); // context 64: one or two examples fit beside a query
const storeFile = path.join(tmp, 'train.tlx');
const leakyStore = path.join(tmp, 'leaky.tlx'); // the training rows + test row 1 (store row 12)
const files: Record<string, string> = {};
const K = 3;

/** A runtime decoder that records, for each ranking, the prompt it was given (the tokens before the candidates). */
class Recording extends Decoder {
  readonly prompts: number[][] = [];
  override scoreBranches(first: number, branches: readonly ArrayLike<number>[], vocab?: number, leading?: readonly number[]) {
    const prompt = [...this.tokens, first];
    if (JSON.stringify(this.prompts.at(-1)) !== JSON.stringify(prompt)) this.prompts.push(prompt);
    return super.scoreBranches(first, branches, vocab, leading);
  }
}

/** The prompt `eval -m … --rag` ranks the labels after, for each test row (eval's own code on the runtime). */
function evalPrompts(m: LoadedModel, store: string, rows = test, keepLeaks = false): number[][] {
  const dec = new Recording(m);
  const start = sequenceStartOf(m.finetune) ?? 'endoftext';
  evaluate(dec, m.tokenizer, rows, train, { template: TINYLLM_TEMPLATE, start, contextLength: m.config.blockSize, generate: false, rag: { retriever: openRetriever(readStore(store)), k: K, keepLeaks } });
  expect(dec.prompts.length).toBe(rows.length);
  return dec.prompts;
}

/** Runs a tinyllm command, capturing stdout (the generated text) and stderr (the retrieval note). */
async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const w = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true));
  const e = vi.spyOn(console, 'error').mockImplementation((...a) => void (err += a.join(' ') + '\n'));
  const l = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const ew = vi.spyOn(process.stderr, 'write').mockImplementation(() => true); // the tokens/s line
  try {
    return { code: await main(argv), out, err };
  } finally {
    w.mockRestore();
    e.mockRestore();
    l.mockRestore();
    ew.mockRestore();
  }
}

beforeAll(async () => {
  expect((await quiet(['index', trainFile, '-o', storeFile])).code).toBe(0);
  expect((await quiet(['index', leakyFile, '-o', leakyStore])).code).toBe(0);
  for (const dtype of ['f32', 'int8']) {
    files[dtype] = path.join(tmp, `model-${dtype}.tllm`);
    const r = await quiet(['export', ckpt, `--${dtype}`, '-o', files[dtype]]);
    expect(r.code, r.err).toBe(0);
  }
});

describe('generate -m model.tllm --rag', () => {
  it.each(['f32', 'int8'])('%s: the prompt eval --rag builds for the row, then greedy text from it', async (dtype) => {
    const m = loadModel(files[dtype]);
    const want = evalPrompts(m, storeFile);
    const retriever = openRetriever(readStore(storeFile));
    for (const [i, row] of test.entries()) {
      const p = ragPrompt(retriever, m.tokenizer, row.input, { k: K, template: TINYLLM_TEMPLATE, start: 'endoftext', allowSpecial: false, contextLength: 64, reserve: 200 });
      expect(p.ids).toEqual(want[i]);
      expect(p.ids.length).toBeLessThanOrEqual(64);
    }
    // the command: same prompt (its greedy continuation from eval's prompt), the retrieval on stderr
    const r = await run(['generate', '-m', files[dtype], '--rag', storeFile, '--k', String(K), '--prompt', test[1].input, '--temperature', '0', '-n', '6']);
    expect(r.code, r.err).toBe(0);
    const expected = generate(loadModel(files[dtype]), want[1], { temperature: 0, maxTokens: 6, stopStrings: [answerEnd(TINYLLM_TEMPLATE)] }).text;
    expect(r.out).toBe(`${expected.trimEnd()}\n`); // the answer without trailing whitespace
    expect(r.err).toMatch(/^\[retrieval: [1-3] of 3 retrieved examples \(store rows [\d, ]+; \d shortened, \d left out to fit the context\)\]\n$/);
    // the query may also come as --input, as a task request without retrieval does
    const viaInput = await run(['generate', '-m', files[dtype], '--rag', storeFile, '--k', String(K), '--input', test[1].input, '--temperature', '0', '-n', '6']);
    expect(viaInput.code, viaInput.err).toBe(0);
    expect(viaInput.out).toBe(r.out);
  });

  it('reports a prompt identical to a stored row (a leak), leaves it out, keeps it on request', async () => {
    const args = ['generate', '-m', files.f32, '--rag', leakyStore, '--k', '1', '--prompt', test[0].input, '--temperature', '0', '-n', '2'];
    const r = await run(args);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/LEAK: the query is identical to store row 12, left out of its retrieval/);
    expect(r.err).not.toMatch(/store rows 12;/);
    const kept = await run([...args, '--rag-keep-leaks']);
    expect(kept.err).toMatch(/store rows 12; .*KEPT in its retrieval/);
  });
});

describe('serve --rag', () => {
  let server: ModelServer;
  let url: string;
  let m: LoadedModel;
  let rag: ServeRag;
  beforeAll(async () => {
    m = loadModel(files.int8);
    rag = await openServeRag(storeFile, m, { k: K, 'rag-max-k': 4, template: 'tinyllm' });
    server = new ModelServer(m, { queue: 4, maxBody: 65536, rag });
    url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
  });
  afterAll(() => server.shutdown());

  it('classify: the prompt of eval --rag, the labels ranked as eval ranks them (equal scores), the retrieval reported', async () => {
    const want = evalPrompts(m, storeFile);
    const candidates = labelCandidates(m.tokenizer, LABELS, { template: TINYLLM_TEMPLATE });
    const deciding = decidingLengths(m.tokenizer, LABELS, candidates);
    const retriever = openRetriever(readStore(storeFile));
    for (const [i, row] of test.entries()) {
      const r = await postJson(`${url}/v1/classify`, { input: row.input, labels: LABELS });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.usage.prompt_tokens).toBe(want[i].length);
      const scores = scoreCandidates(new Decoder(m), want[i], candidates, { deciding }).deciding;
      r.json.labels.forEach((l: { logprob: number }, j: number) => expect(l.logprob).toBeCloseTo(scores[j], 6));
      expect(r.json.rag.retrieved).toEqual(retriever.search(row, K));
      expect(r.json.rag.used.length + r.json.rag.dropped).toBe(K);
      expect(r.json.rag).toMatchObject({ k: K, key: 'numbers', leaked: [], leaks_excluded: true });
    }
  });

  it('the CLI eval -m --rag ranks each row as classify does', async () => {
    const json = path.join(tmp, 'eval.json');
    const e = await quiet(['eval', '-m', files.int8, '--train', trainFile, '--test', testFile, '--rag', storeFile, '--k', String(K), '--method', 'rank', '--json', json]);
    expect(e.code, e.err).toBe(0);
    const rows = JSON.parse(fs.readFileSync(json, 'utf8')).results as { ranked: string; logLikelihood: number }[];
    for (const [i, row] of test.entries()) {
      const r = await postJson(`${url}/v1/classify`, { input: row.input }); // labels: the store's answers
      expect(r.json.label).toBe(rows[i].ranked);
      expect(r.json.labels.find((l: { label: string }) => l.label === rows[i].ranked).logprob).toBeCloseTo(rows[i].logLikelihood, 6);
    }
  });

  it('completions and chat: the same prompt as eval, greedy text from it, stopping at the end marker', async () => {
    const want = evalPrompts(m, storeFile);
    const row = 2;
    const c = await postJson(`${url}/v1/completions`, { prompt: test[row].input, temperature: 0 });
    expect(c.status, JSON.stringify(c.json)).toBe(200);
    expect(c.json.usage.prompt_tokens).toBe(want[row].length);
    const maxTokens = Math.min(16, 64 - want[row].length);
    expect(c.json.choices[0].text).toBe(generate(new Decoder(m), want[row], { temperature: 0, maxTokens, stopStrings: [answerEnd(TINYLLM_TEMPLATE)] }).text);
    const chat = await postJson(`${url}/v1/chat/completions`, { messages: [{ role: 'user', content: test[row].input }], temperature: 0 });
    expect(chat.json.usage.prompt_tokens).toBe(want[row].length);
    expect(chat.json.rag).toEqual(c.json.rag);
    const chunks = await (await streamPost(`${url}/v1/completions`, { prompt: test[row].input, temperature: 0, stream: true })).rest();
    expect(chunks.map((x) => x.choices[0].text).join('')).toBe(c.json.choices[0].text);
    expect(chunks.at(-1).rag).toEqual(c.json.rag); // a stream reports retrieval in its last chunk
  });

  it('per request: k within bounds, or off; a bad value is a 400 naming the field', async () => {
    const one = await postJson(`${url}/v1/classify`, { input: test[0].input, rag: { k: 1 } });
    expect(one.json.rag.retrieved.length).toBe(1);
    const off = await postJson(`${url}/v1/completions`, { prompt: test[0].input, rag: false, max_tokens: 1 });
    expect(off.json.rag).toBeUndefined();
    expect(off.json.usage.prompt_tokens).toBe(1 + m.tokenizer.encode(test[0].input).length);
    for (const [rag, param] of [[{ k: 5 }, 'rag.k'], [{ k: -1 }, 'rag.k'], ['yes', 'rag'], [{ keep_leaks: 1 }, 'rag.keep_leaks']] as const) {
      const r = await postJson(`${url}/v1/classify`, { input: test[0].input, rag });
      expect(r.status).toBe(400);
      expect(r.json.error.param).toBe(param);
    }
  });

  it('never exceeds the context: a larger max_tokens leaves fewer examples; a query that cannot fit is refused, not cut', async () => {
    let used = Infinity;
    for (const max of [1, 8, 20, 30]) {
      const r = await postJson(`${url}/v1/completions`, { prompt: test[0].input, max_tokens: max, temperature: 0 });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(r.json.usage.prompt_tokens + max).toBeLessThanOrEqual(64);
      expect(r.json.rag.used.length).toBeLessThanOrEqual(used);
      used = r.json.rag.used.length;
    }
    expect(used).toBe(0);
    const long = await postJson(`${url}/v1/completions`, { prompt: `${test[0].input} ${'7 '.repeat(80)}` });
    expect(long.status).toBe(400);
    expect(long.json.error).toMatchObject({ param: 'prompt', code: 'context_length_exceeded' });
  });
});

describe('serve --rag: leaks', () => {
  it('a query identical to a stored row is reported and left out, or kept on request', async () => {
    const m = loadModel(files.f32);
    const server = new ModelServer(m, { queue: 4, maxBody: 65536, rag: await openServeRag(leakyStore, m, { k: 1, 'rag-max-k': 4, template: 'tinyllm' }) });
    const url = `http://127.0.0.1:${(await server.listen(0, '127.0.0.1')).port}`;
    try {
      const r = await postJson(`${url}/v1/classify`, { input: test[0].input });
      expect(r.json.rag).toMatchObject({ leaked: [12], leaks_excluded: true });
      expect(r.json.rag.retrieved).not.toContain(12);
      expect(r.json.usage.prompt_tokens).toBe(evalPrompts(m, leakyStore, test.slice(0, 1))[0].length);
      const kept = await postJson(`${url}/v1/classify`, { input: test[0].input, rag: { keep_leaks: true } });
      expect(kept.json.rag).toMatchObject({ retrieved: [12], leaked: [12], leaks_excluded: false });
      expect(kept.json.usage.prompt_tokens).toBe(evalPrompts(m, leakyStore, test.slice(0, 1), true)[0].length);
    } finally {
      await server.shutdown();
    }
  });
});

describe('--rag on a fine-tuned .tllm', () => {
  it("takes the header's template, sequence start and special-token rule, as eval -m does; --template overrides", async () => {
    const custom = { ...TINYLLM_TEMPLATE, response: '### Answer:\n', end: '### Stop' };
    const { file } = exportModel(tmp, 'tuned.tllm', smallConfig, F32, { promptTemplate: custom, startRule: 'none', allowSpecial: true });
    const m = loadModel(file);
    const rag = await openServeRag(storeFile, m, { k: 1, 'rag-max-k': 2 });
    const evalSees = promptSettings(await runtimeEvaluated(m), null, {});
    expect({ template: rag.template, start: rag.start, allowSpecial: rag.allowSpecial }).toEqual({ template: evalSees.template, start: evalSees.start, allowSpecial: evalSees.allowSpecial });
    expect(rag).toMatchObject({ template: custom, start: 'none', allowSpecial: true });
    expect((await openServeRag(storeFile, m, { k: 1, 'rag-max-k': 2, template: 'tinyllm' })).template).toEqual(TINYLLM_TEMPLATE);
  });
});
