// The .tllm format: round trips (f32 exact, f16 within half an ulp of f16, int8 within half a scale step),
// 64-byte aligned in-place tensor views, fine-tune fields and clear errors for broken files (the fuzzed reader is
// test/fuzz/tllm.test.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportTllm } from '../../src/export/deploy.js';
import { f16BitsToF32 } from '../../src/export/half.js';
import { parseTllm, readTllm, TLLM_ALIGN } from '../../src/export/tllm.js';
import { loadModel } from '../../src/runtime/model.js';
import { renderPrompt, templateJson, TINYLLM_TEMPLATE, type PromptTemplate } from '../../src/task/template.js';
import { byteTokenizer, exportTiny, namedParams, tempDir, tinyModel } from '../runtime/helpers.js';
import { fixHeaderCrc, headerCodec, toVersion1 } from '../fuzz/header-crc.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const model = tinyModel(11);
const params = namedParams(model);

describe('.tllm round trips', () => {
  it('f32 exactly, with every tensor 64-byte aligned in the file', () => {
    const f = readTllm(exportTiny(model, { weights: 'f32', embedding: 'f32', group: 0 }, dir, 'a.tllm'));
    for (const [name, want] of params) {
      const got = f.tensor(name);
      expect(got, name).toBeInstanceOf(Float32Array);
      expect(Array.from(got), name).toEqual(Array.from(want));
    }
    for (const t of f.header.tensors) expect(t.offset % TLLM_ALIGN).toBe(0);
    expect(f.header.config).toEqual(model.config);
  });

  it('f16 within half an f16 ulp; int8 within half a step of its scale', () => {
    const f16 = readTllm(exportTiny(model, { weights: 'f16', embedding: 'f16', group: 0 }, dir, 'h.tllm'));
    for (const [name, want] of params) {
      const got = f16.tensor(name) as Uint16Array;
      let over = 0;
      for (let i = 0; i < want.length; i++) over = Math.max(over, Math.abs(f16BitsToF32(got[i]) - want[i]) - (Math.abs(want[i]) * 2 ** -11 + 2 ** -25));
      expect(over, name).toBeLessThanOrEqual(0);
    }
    const q = readTllm(exportTiny(model, { weights: 'int8', embedding: 'int8', group: 32 }, dir, 'q.tllm'));
    for (const [name, want] of params) {
      const e = q.header.tensors.find((t) => t.name === name);
      if (e?.dtype !== 'i8') {
        expect(Array.from(q.tensor(name)), `${name} stays f32`).toEqual(Array.from(want));
        continue;
      }
      const vals = q.tensor(name) as Int8Array;
      const scales = q.tensor(`${name}.scale`) as Float32Array;
      const cols = e.shape[1];
      const per = Math.ceil(cols / 32);
      let over = 0;
      for (let i = 0; i < want.length; i++) {
        const s = scales[Math.floor(i / cols) * per + Math.floor((i % cols) / 32)];
        over = Math.max(over, Math.abs(vals[i] * s - want[i]) - (s / 2 + 1e-7 * Math.abs(want[i])));
      }
      expect(over, name).toBeLessThanOrEqual(0);
    }
    expect(fs.statSync(path.join(dir, 'q.tllm')).size).toBeLessThan(0.4 * fs.statSync(path.join(dir, 'a.tllm')).size);
  });

  it('carries the fine-tune fields (the template as its JSON form) and the gpt2 tokenizer by name', () => {
    const file = path.join(dir, 'ft.tllm');
    const template = { ...TINYLLM_TEMPLATE, input: 'Readings:\n{input}', end: '' };
    const finetune = { promptTemplate: template, startRule: 'endoftext', allowSpecial: true, labels: ['left', 'right'], instruction: 'Which way?', extra: 1 };
    const big = tinyModel(2, { ...model.config, vocabSize: 50257 });
    exportTllm(file, big.config, namedParams(big), { scheme: { weights: 'int8', embedding: 'int8', group: 64 }, tokenizer: 'gpt2', finetune });
    const m = loadModel(file);
    expect(m.finetune).toEqual(finetune);
    expect(headerJson(file).finetune.promptTemplate).toEqual(JSON.parse(templateJson(template)));
    expect(m.tokenizer.encode('Hello world')).toEqual([15496, 995]);
  });

  it("reads an older file's string template into the structured one, rendering the same prompts", () => {
    const file = path.join(dir, 'legacy.tllm');
    // room in the header for the edits below
    exportTllm(file, model.config, params, { scheme: { weights: 'f32', embedding: 'f32', group: 0 }, tokenizer: 'gpt2', source: { note: ' '.repeat(400) } });
    const legacy = (s: unknown) => {
      setHeader(file, (h) => ({ ...h, source: {}, finetune: { promptTemplate: s, labels: ['a'] } }));
      return readTllm(file).header.finetune?.promptTemplate as PromptTemplate;
    };
    const rows = [{ instruction: 'Which gesture?', input: 'ax=1 ay=2' }, { instruction: '', input: 'ax=1' }, { instruction: 'Which?', input: '' }];
    for (const s of ['### Input:\n{input}\n\n### Response:\n', 'Task: {instruction}\nData: {input}\nLabel:', '{input}', 'Q {instruction} {input}']) {
      const t = legacy(s);
      for (const r of rows) {
        const old = s.replaceAll('{instruction}', r.instruction).replaceAll('{input}', r.input);
        // exact except an empty input after a given instruction (the text between the two goes with the input)
        if (r.input !== '' || !s.includes('{instruction}')) expect(renderPrompt(t, r), `${s} ${JSON.stringify(r)}`).toBe(old);
      }
    }
    expect(() => legacy('{input} then {instruction}')).toThrow(/legacy\.tllm: header finetune\.promptTemplate: the string template .* needs \{input\} once, after \{instruction\}/);
    expect(() => legacy({ format: 'tinyllm-template', version: 1, input: 'no placeholder' })).toThrow(/header finetune\.promptTemplate: field 'input' must contain \{input\}.*re-export/);
    setHeader(file, (h) => ({ ...h, source: {}, finetune: { startRule: 'BOS' } }));
    expect(() => loadModel(file)).toThrow(/finetune\.startRule must be one of "endoftext", "<\|endoftext\|>", "none", ""/);
    setHeader(file, (h) => ({ ...h, source: {}, finetune: { instruction: ['Which way?'] } }));
    expect(() => loadModel(file)).toThrow(/finetune\.instruction must be a string/);
  });
});

/** The JSON header of a .tllm file. */
const tllmHeader = headerCodec(TLLM_ALIGN, false);
function headerJson(file: string) {
  return JSON.parse(tllmHeader.get(fs.readFileSync(file)));
}

/** Rewrites the JSON header and its checksum in place (padded with spaces, so the tensors stay where they are). */
function setHeader(file: string, edit: (h: Record<string, unknown>) => Record<string, unknown>): void {
  const b = fs.readFileSync(file);
  const out = fixHeaderCrc(tllmHeader.set(b, JSON.stringify(edit(headerJson(file)))));
  if (out.length !== b.length) throw new Error('setHeader: the new header is longer than the room before the tensors');
  fs.writeFileSync(file, out);
}

describe('.tllm errors', () => {
  const good = fs.readFileSync(exportTiny(model, { weights: 'int8', embedding: 'f16', group: 64 }, dir, 'good.tllm'));
  const bad = (bytes: Uint8Array) => {
    const file = path.join(dir, 'bad.tllm');
    fs.writeFileSync(file, bytes);
    return file;
  };

  it('says what is wrong and how to fix it', () => {
    expect(() => readTllm(path.join(dir, 'nope.tllm'))).toThrow(/cannot open/);
    expect(() => readTllm(bad(new TextEncoder().encode('GGUF and more bytes here')))).toThrow(/not a \.tllm model.*re-export/);
    const v3 = Uint8Array.from(good);
    v3[8] = 3;
    expect(() => readTllm(bad(v3))).toThrow(/version 3, this tinyllm reads versions 1 to 2; upgrade tinyllm/);
    expect(() => readTllm(bad(good.subarray(0, good.length - 100)))).toThrow(/truncated/);
    const noScale = Uint8Array.from(good);
    noScale[good.indexOf('"h.0.mlp.c_fc.weight.scale"') + 25] = 'x'.charCodeAt(0); // renames the scales
    expect(() => parseTllm('x.tllm', noScale)).toThrow(/x\.tllm: header checksum mismatch: the header is corrupted/);
    expect(() => parseTllm('x.tllm', fixHeaderCrc(noScale))).toThrow(/h\.0\.mlp\.c_fc\.weight\.scale' must be f32/);
  });

  it('reads version 1 files (no header checksum), as tinyllm wrote them before', () => {
    const v1 = toVersion1(good);
    expect(v1[8]).toBe(1);
    const want = readTllm(bad(good));
    const got = readTllm(bad(v1));
    expect(got.header).toEqual(want.header);
    for (const t of want.header.tensors) expect(got.tensor(t.name), t.name).toEqual(want.tensor(t.name));
    // without a checksum a changed header still reads, as it always did
    const nHead1 = Uint8Array.from(v1);
    nHead1[Buffer.from(v1).indexOf('"nHead":2') + 8] = '1'.charCodeAt(0);
    expect(readTllm(bad(nHead1)).header.config.nHead).toBe(1);
  });
});

it('tokenizer round trip through the embedded tokenizer.json', () => {
  const m = loadModel(path.join(dir, 'a.tllm'));
  expect(m.tokenizer.encode('héllo')).toEqual(byteTokenizer.encode('héllo'));
});
