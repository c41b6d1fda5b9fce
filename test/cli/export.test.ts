// `tinyllm export` and `tinyllm generate -m` end to end on a tiny Hugging Face checkpoint with its own tokenizer:
// the report lines, overwrite refusal, the perplexity bound (exit 1, nothing written), and greedy text from the
// f32 .tllm equal to the text from the checkpoint itself.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { encodeShardHeader, SHARD_HEADER_BYTES } from '../../src/data/shard.js';
import { saveHFGPT2 } from '../../src/export/hf-gpt2.js';
import { saveTokenizer } from '../../src/tokenizer/files.js';
import { KVDecoder } from '../../src/models/gpt2/decode.js';
import { Decoder, loadModel } from '../../src/runtime/index.js';
import { Rng } from '../../src/util/rng.js';
import { byteTokenizer, namedParams, tempDir, tinyModel } from '../runtime/helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const hf = path.join(dir, 'hf');
const tok = path.join(dir, 'tok');
const val = path.join(dir, 'val.bin');
const model = tinyModel(4);
saveHFGPT2(hf, model.config, namedParams(model));
saveTokenizer(byteTokenizer.model, tok);
const rng = new Rng(1);
fs.writeFileSync(val, Buffer.concat([encodeShardHeader(300), Buffer.from(Uint16Array.from({ length: 300 }, () => rng.int(257)).buffer)]));

/** Runs the CLI, returning its exit code and everything it printed. */
async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const grab = (s: unknown) => {
    out += `${String(s)}\n`;
  };
  const spies = [
    vi.spyOn(console, 'log').mockImplementation(grab),
    vi.spyOn(console, 'error').mockImplementation(grab),
    vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((out += String(s)), true)),
    vi.spyOn(process.stderr, 'write').mockImplementation(() => true),
  ];
  try {
    return { code: await main(argv), out };
  } finally {
    for (const s of spies) s.mockRestore();
  }
}

describe('tinyllm export', () => {
  it('writes the file and reports size, logit and perplexity cost; refuses to overwrite', async () => {
    const out = path.join(dir, 'm8.tllm');
    const r = await cli('export', hf, '--int8', '--group', '32', '--tokenizer', tok, '-o', out, '--val', val);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/int8 \(groups of 32\); [\d.]+ MB \(f32 weights [\d.]+ MB, 0\.\d+x/);
    expect(r.out).toMatch(/max \|Δlogit\| [\d.e-]+ .*top-1 token agrees at [\d.]+%/);
    expect(r.out).toMatch(/perplexity on 300 tokens .* f32 [\d.]+ -> [\d.]+ \([+-][\d.]+%\)/);
    expect(fs.existsSync(out)).toBe(true);
    const again = await cli('export', hf, '--f16', '--tokenizer', tok, '-o', out);
    expect(again.code).toBe(1);
    expect(again.out).toMatch(/exists; .*--force/);
    expect((await cli('export', hf, '--f16', '--tokenizer', tok, '-o', out, '--force')).code).toBe(0);
  });

  it('fails above --max-ppl-increase and leaves nothing behind', async () => {
    const out = path.join(dir, 'bound.tllm');
    const r = await cli('export', hf, '--int8', '--tokenizer', tok, '-o', out, '--val', val, '--max-ppl-increase', '-50');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/perplexity rose by .* > --max-ppl-increase -50%; nothing written/);
    expect(fs.readdirSync(dir).filter((f) => f.includes('bound'))).toEqual([]);
  });

  it('--keep-f32: a mixed file loads with per-block dtypes, and its reported perplexity is what the file measures', async () => {
    const out = path.join(dir, 'mixed.tllm');
    const r = await cli('export', hf, '--int8', '--group', '32', '--keep-f32', '1', '--tokenizer', tok, '-o', out, '--val', val);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/int8 \(groups of 32\) \(blocks 1 f32\)/);
    const m = loadModel(out);
    expect(m.header.quantization.layers).toEqual(['int8', 'f32']);
    expect([m.weights.blocks[0].fcw.kind, m.weights.blocks[1].fcw.kind, m.weights.blocks[1].qkvw.kind, m.weights.wte.kind]).toEqual(['int8', 'f32', 'f32', 'int8']);
    // the perplexity the export printed, measured again here: windows of the checked context (96), teacher-forced
    const [, f32Reported, ours, rise] = /perplexity on 300 tokens .*: f32 ([\d.]+) -> ([\d.]+) \(([+-][\d.]+)%\)/.exec(r.out)!;
    const bytes = fs.readFileSync(val);
    const tokens = Array.from(new Uint16Array(bytes.buffer.slice(bytes.byteOffset + SHARD_HEADER_BYTES, bytes.byteOffset + bytes.byteLength)));
    const ppl = (feed: (w: number[]) => number, reset: () => void) => {
      let logp = 0;
      let n = 0;
      for (let i = 0; i + 1 < tokens.length; i += 96) {
        const w = tokens.slice(i, i + 96);
        if (w.length < 2) break;
        reset();
        logp += feed(w);
        n += w.length - 1;
      }
      return Math.exp(-logp / n);
    };
    const dec = new Decoder(m, { capacity: 96 });
    const mixed = ppl((w) => dec.feedScored(w), () => dec.reset());
    const ref = new KVDecoder(model, 96);
    const f32 = ppl((w) => ref.feedScored(w), () => ref.reset());
    expect(Math.abs(mixed - Number(ours))).toBeLessThan(6e-4);
    expect(Math.abs(f32 - Number(f32Reported))).toBeLessThan(6e-4);
    expect(Math.abs((100 * (mixed - f32)) / f32 - Number(rise))).toBeLessThan(6e-3);
    expect(mixed).not.toBe(f32);
    expect((await cli('export', hf, '--f16', '--keep-f32', '0', '--tokenizer', tok, '-o', path.join(dir, 'x.tllm'))).out).toMatch(/use them with --int8/);
    expect((await cli('export', hf, '--int8', '--keep-f32', '5', '--tokenizer', tok, '-o', path.join(dir, 'x.tllm'))).out).toMatch(/--keep-f32: '5' is not a block/);
  });

  it('--precision auto: prints each block\'s sensitivity, keeps the most sensitive f32, and keeps more when the measured rise is above the bound', async () => {
    const out = path.join(dir, 'auto.tllm');
    const r = await cli('export', hf, '--int8', '--embedding', 'f32', '--precision', 'auto', '--max-ppl-increase', '0', '--tokenizer', tok, '-o', out, '--val', val);
    const deltas = [0, 1].map((l) => Number(new RegExp(`block ${l}: ([+-][\\d.e+-]+) `).exec(r.out)![1]));
    const chosen = /precision auto: (.*), predicted/.exec(r.out)![1];
    // bound 0%: a block joins int8 only if it lowers the predicted loss (least sensitive first)
    const sorted = [0, 1].sort((a, b) => deltas[a] - deltas[b]);
    const int8: number[] = [];
    let sum = 0;
    for (const l of sorted) if (sum + deltas[l] <= 0) (sum += deltas[l], int8.push(l)); else break;
    const kept = [0, 1].filter((l) => !int8.includes(l));
    expect(chosen).toBe(kept.length ? `blocks ${kept.join(',')} stay f32` : 'every block int8');
    // a measured rise above the bound keeps the most sensitive int8 block f32 too and exports again, until it fits
    // (here it must: with every block and the embedding f32 the file is the f32 model)
    const retried = [...r.out.matchAll(/measured \+[\d.]+% > 0%, so block (\d) \(the most sensitive int8 one\) stays f32 too; exporting again/g)].map((m) => Number(m[1]));
    expect(retried).toEqual(int8.slice().reverse().slice(0, retried.length));
    expect(r.code, r.out).toBe(0);
    expect(loadModel(out).header.quantization.layers ?? ['int8', 'int8']).toEqual([0, 1].map((l) => (kept.includes(l) || retried.includes(l) ? 'f32' : 'int8')));
    expect([...r.out.matchAll(/perplexity on \d+ tokens/g)]).toHaveLength(retried.length + 1);
    const all = await cli('export', hf, '--int8', '--precision', 'auto', '--max-ppl-increase', '1000', '--tokenizer', tok, '-o', path.join(dir, 'auto2.tllm'), '--val', val);
    expect(all.code, all.out).toBe(0);
    expect(all.out).toMatch(/precision auto: every block int8/);
    expect((await cli('export', hf, '--int8', '--precision', 'auto', '--tokenizer', tok, '-o', path.join(dir, 'x.tllm'))).out).toMatch(/needs --val .* and --max-ppl-increase/);
  });

  it('rejects bad flags with a message', async () => {
    expect((await cli('export', hf, '-o', path.join(dir, 'x.tllm'))).out).toMatch(/choose one of --int8, --f16, --f32/);
    expect((await cli('export', hf, '--int8', '--group', '16', '-o', path.join(dir, 'x.tllm'))).out).toMatch(/--group must be 0, 32, 64/);
  });
});

describe('tinyllm generate -m', () => {
  it('streams the same greedy text from an f32 .tllm as from the checkpoint', async () => {
    const out = path.join(dir, 'm32.tllm');
    expect((await cli('export', hf, '--f32', '--tokenizer', tok, '-o', out)).code).toBe(0);
    const args = ['-p', 'hello', '-n', '20', '--temperature', '0'];
    const fromTllm = await cli('generate', '-m', out, ...args);
    // both start the prompt with <|endoftext|>, as training documents do (the .tllm header records the rule)
    const fromCkpt = await cli('generate', '--ckpt', hf, '--tokenizer', tok, ...args);
    expect(fromTllm.code).toBe(0);
    expect(fromTllm.out.length).toBeGreaterThan('hello'.length);
    expect(fromTllm.out).toBe(fromCkpt.out);
    expect((await cli('generate', '-m', out, '--ckpt', hf)).out).toMatch(/either -m/);
  });
});
