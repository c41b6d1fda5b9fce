// `tinyllm eval` end to end on a tiny memorising model (JSON report checked), and the sequence-start rule:
// generate, eval and the library call feed the same ids and get identical logits at the prompt's last position.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { KVDecoder } from '../../src/models/gpt2/decode.js';
import { generateText } from '../../src/models/gpt2/generate.js';
import { renderPrompt, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { writeTaskInfo } from '../../src/task/info.js';
import { saveTokenizer } from '../../src/tokenizer/files.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { LABELS, memorise, quiet, tinyRows, tinyTokenizer } from './helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-eval-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const rows = tinyRows(9, 1);
const { tok, bpe } = tinyTokenizer(rows);
const model = memorise(tok, rows);
const tokDir = path.join(tmp, 'tok');
saveTokenizer(bpe, tokDir);
const run = path.join(tmp, 'run');
fs.mkdirSync(run);
saveCheckpoint(path.join(run, 'checkpoint.ckpt'), { model, step: 1, tokenizer: tokDir, sequenceStart: 'endoftext' });
const jsonl = (file: string, rs: typeof rows) => {
  fs.writeFileSync(file, rs.map((r) => JSON.stringify({ instruction: r.instruction, input: r.input, output: r.output })).join('\r\n') + '\r\n');
  return file;
};
const trainFile = jsonl(path.join(tmp, 'train.jsonl'), rows);
const testFile = jsonl(path.join(tmp, 'test.jsonl'), rows);

describe('tinyllm eval', () => {
  it('reports ranking, strict and TinyLLM-rule accuracy beside the baselines, as a table and JSON', async () => {
    const json = path.join(tmp, 'report.json');
    const r = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--json', json]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/model: ranking by likelihood\s+100\.00 %/);
    expect(r.out).toMatch(/baseline: majority class\s+33\.33 %/);
    expect(r.out).toMatch(/Confusion matrix/);
    const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(rep.format).toBe('tinyllm-eval');
    expect(rep.model.parameters).toBe(model.numParams);
    expect(r.out).toContain(`${model.numParams.toLocaleString('en-US')} parameters`);
    expect(rep.kind).toBe('classify');
    expect(rep.labels).toEqual(LABELS);
    expect(rep.rows).toBe(9);
    expect(rep.ranking.accuracy).toBe(1);
    expect(rep.ranking.confusion).toEqual([
      [3, 0, 0, 0],
      [0, 3, 0, 0],
      [0, 0, 3, 0],
    ]);
    expect(rep.strict.accuracy).toBe(1);
    expect(rep.tinyllmRule.accuracy).toBe(1);
    expect(rep.results[1].generated).toBe('Double tap');
    expect(rep.baselines.map((b: { name: string }) => b.name)).toEqual(['majority class', 'nearest centroid', '5-NN']);
    expect(rep.baselines[0].classification.accuracy).toBeCloseTo(1 / 3, 12);
    expect(rep.features).toEqual({ dim: 6, constant: 0, trainMismatched: 0, testMismatched: 0, rescaled: false });
    // never overwrites a report without --force; no accuracy without training rows
    const again = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--json', json]);
    expect([again.code, again.err]).toEqual([1, `tinyllm eval: --json ${json} exists; give --force to overwrite it or choose another file`]);
    const noTrain = await quiet(['eval', '--ckpt', run, '--test', testFile]);
    expect(noTrain.err).toMatch(/--train is required/);
    // --labels: a wider closed set, ranking only, first rows only
    const wide = path.join(tmp, 'wide.json');
    const w = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--labels', 'Tap,Double tap', '--labels', 'Hold,Swipe', '--method', 'rank', '--limit', '3', '--json', wide]);
    expect(w.code).toBe(0);
    const wrep = JSON.parse(fs.readFileSync(wide, 'utf8'));
    expect([wrep.labels, wrep.labelSource, wrep.rows, wrep.strict, wrep.ranking.confusion.length]).toEqual([[...LABELS, 'Swipe'], '--labels', 3, undefined, 4]);
  });

  it('Ctrl-C finishes the row, reports on the rows done (JSON too) and exits 130', async () => {
    const json = path.join(tmp, 'partial.json');
    const score = KVDecoder.prototype.scoreBranches;
    let sent = false;
    const spy = vi.spyOn(KVDecoder.prototype, 'scoreBranches').mockImplementation(function (this: KVDecoder, ...args: Parameters<KVDecoder['scoreBranches']>) {
      if (!sent) {
        sent = true;
        process.emit('SIGINT');
      }
      return score.apply(this, args);
    });
    let r;
    try {
      r = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--json', json]);
    } finally {
      spy.mockRestore();
    }
    expect(r.code).toBe(130);
    expect(r.err).toBe('tinyllm eval: interrupted: reported on 1 of 9 test rows');
    const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect([rep.interrupted, rep.rows, rep.testRows, rep.baselines[0].classification.n]).toEqual([true, 1, 9, 1]);
  });

  it('reads a fine-tune run folder: task.json for labels and prompts, config.json for the same split', async () => {
    const ft = path.join(tmp, 'ft');
    fs.mkdirSync(ft);
    fs.copyFileSync(path.join(run, 'checkpoint.ckpt'), path.join(ft, 'checkpoint.ckpt'));
    const all = jsonl(path.join(tmp, 'all.jsonl'), [...rows, ...rows]);
    const labels = [LABELS[2], LABELS[0], LABELS[1]];
    writeTaskInfo(ft, { tokenizer: tokDir, template: TINYLLM_TEMPLATE, sequenceStart: 'endoftext', allowSpecial: false, labels, columns: { instruction: 'instruction', input: 'input', output: 'output' }, instruction: '', requestInstruction: '', overflow: 'truncate', contextLength: 64 });
    const settings = { data: { train: all, val: null, test: null, split: { val: 0, test: 0.25 } }, seed: 7, task: { columns: { instruction: 'instruction', input: 'input', output: 'output' }, instruction: '' } };
    fs.writeFileSync(path.join(ft, 'config.json'), JSON.stringify(settings));
    const json = path.join(tmp, 'ft.json');
    const r = await quiet(['eval', '--ckpt', ft, '--json', json]);
    expect(r.err).toBe('');
    const rep = JSON.parse(fs.readFileSync(json, 'utf8'));
    expect(rep.labels).toEqual(labels);
    expect(rep.labelSource).toBe("the run's task.json");
    expect([rep.rows, rep.trainRows]).toEqual([5, 13]); // round(18 · 0.25) test rows, as fine-tuning split them
    expect(rep.ranking.accuracy).toBe(1);
  });

  it('--tta ranks over augmented copies with the run\'s --jitter, or the one given; without either it says what to give', async () => {
    const none = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--tta', '3']);
    expect([none.code, none.err]).toEqual([1, 'tinyllm eval: --tta 3 needs an augmentation to draw its copies with: the model is not a fine-tune run with --jitter, --shift or --gain; give --tta-jitter K, --tta-shift K and/or --tta-gain G']);
    const given = await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', testFile, '--method', 'rank', '--tta', '3', '--tta-jitter', '2']);
    expect(given.err).toBe('');
    expect(given.out).toContain("ranking: test-time augmentation, the label probabilities averaged over each row's prompt and 2 copies of it (numbers jittered by up to ±2 in their last digit)");
    const jittered = path.join(tmp, 'jittered');
    fs.mkdirSync(jittered);
    fs.copyFileSync(path.join(run, 'checkpoint.ckpt'), path.join(jittered, 'checkpoint.ckpt'));
    fs.writeFileSync(path.join(jittered, 'config.json'), JSON.stringify({ jitter: 4, shift: 1 })); // a run fine-tuned with --jitter 4 --shift 1
    const json = path.join(tmp, 'tta.json');
    const fromRun = await quiet(['eval', '--ckpt', jittered, '--train', trainFile, '--test', testFile, '--method', 'rank', '--tta', '5', '--json', json]);
    expect(fromRun.err).toBe('');
    expect(JSON.parse(fs.readFileSync(json, 'utf8')).tta).toEqual({ copies: 5, jitter: 4, shift: 1, gain: 1 });
    const noRank = await quiet(['eval', '--ckpt', jittered, '--train', trainFile, '--test', testFile, '--method', 'generate', '--tta', '5']);
    expect(noRank.err).toMatch(/test-time augmentation applies to ranking/);
  });

  it('generate, eval and generateText give identical logits at the prompt\'s last position, with <|endoftext|> first', async () => {
    const prompt = renderPrompt(TINYLLM_TEMPLATE, rows[2]);
    const prefills: Float32Array[] = [];
    const feed = KVDecoder.prototype.feed;
    const spy = vi.spyOn(KVDecoder.prototype, 'feed').mockImplementation(function (this: KVDecoder, tokens: ArrayLike<number>) {
      const logits = feed.call(this, tokens);
      if (tokens.length > 1) prefills.push(Float32Array.from(logits));
      return logits;
    });
    try {
      generateText(model, tok, prompt, { maxTokens: 1, temperature: 0 });
      expect((await quiet(['generate', '--ckpt', run, '--prompt', prompt, '--max-tokens', '1', '--temperature', '0'])).code).toBe(0);
      const test1 = jsonl(path.join(tmp, 'one.jsonl'), [rows[2]]);
      expect((await quiet(['eval', '--ckpt', run, '--train', trainFile, '--test', test1, '--method', 'generate'])).code).toBe(0);
      expect((await quiet(['generate', '--ckpt', run, '--prompt', prompt, '--max-tokens', '1', '--sequence-start', 'none'])).code).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(prefills).toHaveLength(4);
    const [lib, gen, ev, none] = prefills;
    expect(gen).toEqual(lib);
    expect(ev).toEqual(lib);
    expect(none).not.toEqual(lib);
    // and they are the training forward's logits of <|endoftext|> + prompt
    const ids = Int32Array.from([tok.eotToken, ...tok.encode(prompt)]);
    model.forward(ids, null, 1, ids.length);
    const V = model.config.vocabSize;
    const want = model.logits().subarray((ids.length - 1) * V, ids.length * V);
    for (let v = 0; v < V; v += 17) expect(lib[v]).toBeCloseTo(want[v], 4);
  });
});
