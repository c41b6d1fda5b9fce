import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepareBuiltinCorpus } from '../../src/data/builtin.js';
import { readDocuments } from '../../src/data/docstream.js';
import { generateDatasets } from '../../src/data/generate/index.js';
import { resolveShards } from '../../src/data/loader.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { renderExample, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { tmpDir } from './helpers.js';

describe('prepareBuiltinCorpus', () => {
  it('prepares sensing (logs + training samples only) and web from generated data', async () => {
    const dir = tmpDir();
    generateDatasets({ out: path.join(dir, 'ds'), seed: 3, scale: 0.05 });
    const tok = gpt2();
    const { sensing, web } = await prepareBuiltinCorpus({ datasets: path.join(dir, 'ds'), out: path.join(dir, 'data'), tokenizer: tok, progress: false });
    expect(sensing.sources.map((s) => path.relative(path.join(dir, 'ds'), s.path))).toEqual([
      'sensor-logs/gesture_stream.csv',
      'sensor-logs/robot_stream.csv',
      'gesture/train.csv',
      'robot/train.csv',
    ]);
    expect(sensing.splits.val.documents).toBeGreaterThan(0);
    const docs = [...readDocuments(resolveShards(path.join(dir, 'data', 'sensing_train')), tok.eotToken)].map((d) => tok.decode(d.slice(1)));
    expect(docs.some((d) => /^### Instruction:\nClassify the hand gesture[^]*### Response:\n(Tap|Double tap|Hold)\n\n### End$/.test(d))).toBe(true);
    expect(docs.some((d) => /### Response:\n(Charging station|Entrance|Server rack)\n\n### End$/.test(d))).toBe(true);
    expect(web.splits.train.documents + web.splits.val.documents).toBe(15);
    // the CSV rendered by prepare is exactly the generated JSONL record through the task template
    const jsonl = fs.readFileSync(path.join(dir, 'ds', 'gesture', 'train.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const rendered = new Set(docs);
    expect(jsonl.filter((r) => rendered.has(renderExample(TINYLLM_TEMPLATE, r))).length).toBe(sensing.sources[2].documents.train);
    await expect(prepareBuiltinCorpus({ datasets: dir, out: path.join(dir, 'x'), tokenizer: tok })).rejects.toThrow(/tinyllm datasets generate/);
    // a second run into the same directory is refused before either dataset is touched (here only web is left)
    const data = path.join(dir, 'data');
    for (const f of fs.readdirSync(data)) if (f.startsWith('sensing')) fs.rmSync(path.join(data, f));
    const before = fs.readdirSync(data).sort();
    await expect(prepareBuiltinCorpus({ datasets: path.join(dir, 'ds'), out: data, tokenizer: tok, progress: false })).rejects.toThrow(/data[/\\]web: a dataset named 'web' is already there.*--force/);
    expect(fs.readdirSync(data).sort()).toEqual(before);
    const again = await prepareBuiltinCorpus({ datasets: path.join(dir, 'ds'), out: data, tokenizer: tok, progress: false, force: true });
    expect(again.sensing.splits).toEqual(sensing.splits);
  });
});
