// The task template: TinyLLM's layout, custom template files, and one definition shared with prepare.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { prepare } from '../../src/data/prepare.js';
import { readDocuments } from '../../src/data/docstream.js';
import { resolveShards } from '../../src/data/loader.js';
import { answerEnd, inputAsWritten, loadTemplate, parseTemplate, renderAnswer, renderExample, renderPrompt, templateJson, TINYLLM_TEMPLATE } from '../../src/task/template.js';
import { encodeSequence } from '../../src/task/sequence.js';
import { gpt2 } from '../../src/tokenizer/index.js';
import { tmpDir } from '../data/helpers.js';

describe('prompt template', () => {
  it("renders TinyLLM's layout: parts joined by a blank line, empty parts left out, ### End after the answer", () => {
    const t = TINYLLM_TEMPLATE;
    // the text TinyLLM's create_prompt_formats builds for {instruction: 'Classify.', input: '1 2', output: 'Tap'}
    expect(renderExample(t, { instruction: 'Classify.', input: '1 2', output: 'Tap' })).toBe('### Instruction:\nClassify.\n\n### Input:\n1 2\n\n### Response:\nTap\n\n### End');
    expect(renderPrompt(t, { instruction: 'Classify.', input: '' })).toBe('### Instruction:\nClassify.\n\n### Response:\n');
    expect(renderPrompt(t, { instruction: '', input: 'x' })).toBe('### Input:\nx\n\n### Response:\n');
    expect(renderAnswer(t, 'Hold')).toBe('Hold\n\n### End');
    expect(answerEnd(t)).toBe('\n\n### End');
    // placeholders in the data are not expanded again
    expect(renderPrompt(t, { instruction: '{input} $&', input: 'a' })).toBe('### Instruction:\n{input} $&\n\n### Input:\na\n\n### Response:\n');
  });

  it('reads a custom template file; missing fields keep the default; bad files are refused with the file named', () => {
    const dir = tmpDir();
    const f = path.join(dir, 'qa.json');
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, instruction: 'Q: {instruction}', input: 'Data: {input}', response: 'A: ', end: '', separator: '\n' }));
    const t = loadTemplate(f);
    expect(renderExample(t, { instruction: 'Where?', input: '3 4', output: 'Entrance' })).toBe('Q: Where?\nData: 3 4\nA: Entrance');
    expect(parseTemplate(templateJson(t), 'x')).toEqual(t);
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, end: '</s>' }));
    expect(renderAnswer(loadTemplate(f), 'y')).toBe('y\n\n</s>');
    expect(loadTemplate('tinyllm')).toEqual(TINYLLM_TEMPLATE);
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, instruction: 'no placeholder' }));
    expect(() => loadTemplate(f)).toThrow(/qa\.json: field 'instruction' must contain \{instruction\}/);
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, respons: 'A:' }));
    expect(() => loadTemplate(f)).toThrow(/unknown field 'respons'/);
    fs.writeFileSync(f, '{"instruction": "x"');
    expect(() => loadTemplate(f)).toThrow(/qa\.json: not valid JSON/);
    expect(() => loadTemplate(path.join(dir, 'none.json'))).toThrow(/no template file/);
  });

  it('"series": "rescale" writes the input\'s series 0..99 of their range (instruction and short lines as they are); stored only when set', () => {
    const dir = tmpDir();
    const f = path.join(dir, 'rescale.json');
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, series: 'rescale' }));
    const t = loadTemplate(f);
    expect(t).toEqual({ ...TINYLLM_TEMPLATE, series: 'rescale' });
    const line = Array.from({ length: 20 }, (_, i) => 500 + 25 * (i % 5)).join(' ');
    const input = `red: ${line}\nroom 12 of 40`;
    const want = `red: ${Array.from({ length: 20 }, (_, i) => Math.round(((i % 5) / 4) * 99)).join(' ')}\nroom 12 of 40`;
    expect(inputAsWritten(t, input)).toBe(want);
    expect(renderPrompt(t, { instruction: 'Classify 50 readings', input })).toBe(renderPrompt(TINYLLM_TEMPLATE, { instruction: 'Classify 50 readings', input: want }));
    expect(inputAsWritten(TINYLLM_TEMPLATE, input)).toBe(input);
    expect(parseTemplate(templateJson(t), 'x')).toEqual(t);
    // a template without it is stored as before (task.json and .tllm headers of earlier runs read the same)
    expect(JSON.parse(templateJson(TINYLLM_TEMPLATE))).not.toHaveProperty('series');
    fs.writeFileSync(f, JSON.stringify({ format: 'tinyllm-template', version: 1, series: 'minmax' }));
    expect(() => loadTemplate(f)).toThrow(/rescale\.json: field 'series' must be "rescale"/);
  });

  it('prepare --template instruction writes exactly <|endoftext|> + the task template text (issue 15: one definition)', async () => {
    const dir = tmpDir();
    const recs = [
      { instruction: 'Classify the gesture.', input: 'proximity: 1 2 3', output: 'Tap' },
      { input: 'only input', output: 'Hold' },
    ];
    const file = path.join(dir, 't.jsonl');
    fs.writeFileSync(file, recs.map((r) => JSON.stringify(r)).join('\n'));
    const tok = gpt2();
    await prepare({ inputs: [{ path: file, format: 'jsonl', instruction: true }], out: dir, name: 'd', tokenizer: tok, tokenizerName: 'gpt2', valFraction: 0, progress: false });
    const docs = [...readDocuments(resolveShards(path.join(dir, 'd_train')), tok.eotToken)];
    const expected = recs.map((r) => encodeSequence(tok, renderExample(TINYLLM_TEMPLATE, { instruction: '', ...r })));
    expect(docs.map((d) => Array.from(d))).toEqual(expected);
    expect(tok.decode(docs[0])).toBe('<|endoftext|>### Instruction:\nClassify the gesture.\n\n### Input:\nproximity: 1 2 3\n\n### Response:\nTap\n\n### End');
  });

  it('prepare encodes special-token text as plain text unless allowSpecial (tiktoken opt-in)', async () => {
    const dir = tmpDir();
    const file = path.join(dir, 's.jsonl');
    fs.writeFileSync(file, `${JSON.stringify({ text: 'a<|endoftext|>b' })}\n`);
    const tok = gpt2();
    const docs = async (allowSpecial: boolean) => {
      const name = allowSpecial ? 'special' : 'plain';
      await prepare({ inputs: [{ path: file, format: 'jsonl' }], out: dir, name, tokenizer: tok, tokenizerName: 'gpt2', valFraction: 0, progress: false, allowSpecial });
      return [...readDocuments(resolveShards(path.join(dir, `${name}_train`)), tok.eotToken)].map((d) => Array.from(d));
    };
    expect(await docs(false)).toEqual([[tok.eotToken, ...tok.encode('a<|endoftext|>b')]]);
    expect(await docs(true)).toEqual([[tok.eotToken, ...tok.encode('a')], [tok.eotToken, ...tok.encode('b')]]);
  });
});
