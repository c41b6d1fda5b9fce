// `tinyllm export --task` on a tiny fine-tuned run with its own prompt template: Δ task accuracy of the exported
// file against its source (a bound that must fail fails with the figures and leaves nothing behind; a loose one
// passes), and the template carried in the .tllm header: `eval -m`, `generate -m --input` and serve's /v1/classify
// build the same prompt from it (equal log-likelihoods and greedy text), as `generate --ckpt <run> --input` does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { readTllm } from '../../src/export/tllm.js';
import { writeTaskInfo } from '../../src/task/info.js';
import type { PromptTemplate } from '../../src/task/template.js';
import { saveTokenizer } from '../../src/tokenizer/files.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { LABELS, memorise, quiet, tinyRows, tinyTokenizer } from '../eval/helpers.js';
import { postJson, startServer } from '../serve/helpers.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-export-task-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

// not TinyLLM's: a path that ignored the header's template would build other prompts
const TEMPLATE: PromptTemplate = { intro: '', instruction: 'Task: {instruction}', input: 'Data: {input}', response: 'Label: ', end: '<end>', separator: '\n' };
const rows = tinyRows(9, 1);
const { tok, bpe } = tinyTokenizer(rows);
const model = memorise(tok, rows, 150, TEMPLATE);
const tokDir = path.join(tmp, 'tok');
saveTokenizer(bpe, tokDir);
const run = path.join(tmp, 'run');
fs.mkdirSync(run);
saveCheckpoint(path.join(run, 'checkpoint.ckpt'), { model, step: 1, tokenizer: tokDir, sequenceStart: 'endoftext' });
writeTaskInfo(run, { tokenizer: tokDir, template: TEMPLATE, sequenceStart: 'endoftext', allowSpecial: false, labels: LABELS, columns: {}, instruction: '', requestInstruction: 'Which gesture?', overflow: 'truncate', contextLength: 64 });
const jsonl = (file: string, rs: { instruction: string; input: string; output: string }[]) => {
  fs.writeFileSync(file, rs.map((r) => JSON.stringify({ instruction: r.instruction, input: r.input, output: r.output })).join('\n') + '\n');
  return file;
};
const testFile = jsonl(path.join(tmp, 'test.jsonl'), rows);

describe('tinyllm export --task', () => {
  it('fails above --max-acc-drop with the figures, leaving nothing; passes a loose bound; prints before/after', async () => {
    const out = path.join(tmp, 'gesture.tllm');
    // the source ranks every row right, so no export can gain a point: a bound of -1 must fail
    const bad = await quiet(['export', run, '--int8', '-o', out, '--task', testFile, '--max-acc-drop', '-1']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/task accuracy dropped by -?\d+\.\d\d points \(100\.00% -> \d+\.\d\d% on 9 rows of .*test\.jsonl\) > --max-acc-drop -1; nothing written/);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('gesture'))).toEqual([]);

    const ok = await quiet(['export', run, '--int8', '-o', out, '--task', testFile, '--limit', '6', '--max-acc-drop', '50']);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.out).toMatch(/task accuracy on 6 rows of .*test\.jsonl \(ranking by likelihood\): source 100\.00% -> int8 \d+\.\d\d% \(drop -?\d+\.\d\d points\)/);
    expect(fs.existsSync(out)).toBe(true);
    // the run's template, labels and start went into the header
    expect(readTllm(out).header.finetune).toEqual({ startRule: 'endoftext', promptTemplate: TEMPLATE, allowSpecial: false, labels: LABELS, instruction: 'Which gesture?' });

    expect((await quiet(['export', run, '--int8', '-o', path.join(tmp, 'x.tllm'), '--max-acc-drop', '1'])).err).toMatch(/--max-acc-drop needs --task/);
  });

  it('a run of a numeric task (no label set in its task.json) needs --train for --task, and says so', async () => {
    const numeric = path.join(tmp, 'numeric-run');
    fs.mkdirSync(numeric);
    fs.copyFileSync(path.join(run, 'checkpoint.ckpt'), path.join(numeric, 'checkpoint.ckpt'));
    writeTaskInfo(numeric, { tokenizer: tokDir, template: TEMPLATE, sequenceStart: 'endoftext', allowSpecial: false, labels: [], columns: {}, instruction: '', requestInstruction: 'Rate?', overflow: 'truncate', contextLength: 64 });
    const r = await quiet(['export', numeric, '--int8', '-o', path.join(tmp, 'numeric.tllm'), '--task', testFile]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--task needs the training rows .*give --train/);
    expect(fs.existsSync(path.join(tmp, 'numeric.tllm'))).toBe(false);
  });

  it('the header template: eval -m, generate -m --input and /v1/classify build the same prompt and scores', async () => {
    const file = path.join(tmp, 'f32.tllm');
    expect((await quiet(['export', run, '--f32', '-o', file])).code).toBe(0);
    const asked = rows.slice(0, 3).map((r) => ({ ...r, instruction: 'Which gesture?' }));
    const askedFile = jsonl(path.join(tmp, 'asked.jsonl'), asked);
    const trainFile = jsonl(path.join(tmp, 'train.jsonl'), rows);
    const report = async (method: string) => {
      const json = path.join(tmp, `${method}.json`);
      const r = await quiet(['eval', '-m', file, '--train', trainFile, '--test', askedFile, '--method', method, '--max-tokens', '6', '--json', json]);
      expect(r.code, r.err).toBe(0);
      return JSON.parse(fs.readFileSync(json, 'utf8'));
    };
    const ranked = await report('rank');
    const generated = await report('generate');
    const s = await startServer(file);
    try {
      for (const [i, row] of asked.entries()) {
        const c = await postJson(`${s.url}/v1/classify`, { input: row.input, instruction: row.instruction });
        expect(c.status).toBe(200);
        expect(c.json.label).toBe(ranked.results[i].ranked);
        expect(c.json.labels.find((l: { label: string }) => l.label === c.json.label).logprob).toBe(ranked.results[i].logLikelihood);
        const text = await stdoutOf(['generate', '-m', file, '--input', row.input, '--instruction', row.instruction, '--temperature', '0', '-n', '6']);
        // just the answer: no trailing blank line from before the end marker
        expect(text).toBe(`${generated.results[i].generated.trimEnd()}\n`);
        // the run itself (its task.json's template) gives the same greedy answer
        const args = ['--input', row.input, '--instruction', row.instruction, '--temperature', '0', '-n', '6'];
        expect(await stdoutOf(['generate', '--ckpt', run, ...args])).toBe(text);
        // without --instruction, both take the one the run recorded (the header's, the run's task.json)
        const bare = ['--input', row.input, '--temperature', '0', '-n', '6'];
        expect(await stdoutOf(['generate', '-m', file, ...bare])).toBe(text);
        expect(await stdoutOf(['generate', '--ckpt', run, ...bare])).toBe(text);
      }
    } finally {
      await s.server.shutdown();
    }
  });
});

/** What a tinyllm command writes to stdout. */
async function stdoutOf(argv: string[]): Promise<string> {
  let out = '';
  const spies = [vi.spyOn(process.stdout, 'write').mockImplementation((x) => ((out += String(x)), true)), vi.spyOn(process.stderr, 'write').mockImplementation(() => true)];
  try {
    expect(await main(argv)).toBe(0);
  } finally {
    for (const sp of spies) sp.mockRestore();
  }
  return out;
}
