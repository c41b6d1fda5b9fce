// A tiny task and a tiny GPT-2 that memorises it, for the eval tests: three gesture-like labels (one a
// substring of another) decided by the numbers of the input, a BPE tokenizer trained on the rendered
// examples, and full-batch AdamW on the answer tokens with <|endoftext|> first (the sequence-start rule).
import { vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { encodeTask, exampleTargets } from '../../src/task/encode.js';
import type { TaskExample } from '../../src/task/read.js';
import { renderExample, TINYLLM_TEMPLATE, type PromptTemplate } from '../../src/task/template.js';
import { BpeTokenizer } from '../../src/tokenizer/bpe.js';
import { PieceCounter, trainBpe } from '../../src/tokenizer/train.js';
import type { BpeModel } from '../../src/tokenizer/types.js';
import { FlatAdamW } from '../../src/train/adamw.js';
import { Rng } from '../../src/util/rng.js';

export const LABELS = ['Tap', 'Double tap', 'Hold'];

/** n rows: the label is decided by the count of large readings (1 → Tap, 2 → Double tap, 3 → Hold). */
export function tinyRows(n: number, seed: number, file = 'task.jsonl'): TaskExample[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => {
    const c = i % 3;
    const xs = Array.from({ length: 6 }, () => 2 + rng.int(8));
    for (let k = 0; k <= c; k++) xs[2 * k] = 90 + rng.int(9);
    return { instruction: '', input: `p: ${xs.join(' ')}`, output: LABELS[c], where: `${file}: row ${i + 1}` };
  });
}

export function tinyTokenizer(rows: readonly TaskExample[]): { tok: BpeTokenizer; bpe: BpeModel } {
  const counter = new PieceCounter();
  for (const r of rows) counter.add(renderExample(TINYLLM_TEMPLATE, r) + '\n', true);
  const bpe = trainBpe(counter.counts, { vocabSize: 300 });
  return { tok: new BpeTokenizer(bpe), bpe };
}

/** All of `rows` as one padded batch, targets on the answer + end marker only (as fine-tuning counts its loss). */
export function answerBatch(tok: BpeTokenizer, rows: readonly TaskExample[], template: PromptTemplate = TINYLLM_TEMPLATE): { inputs: Int32Array; targets: Int32Array; B: number; T: number } {
  const task = encodeTask(tok, rows, { template, contextLength: 64 });
  const B = task.examples.length;
  const T = task.maxLength - 1;
  const inputs = new Int32Array(B * T).fill(tok.eotToken);
  const targets = new Int32Array(B * T);
  task.examples.forEach((e, b) => {
    inputs.set(e.ids.subarray(0, T), b * T);
    exampleTargets(e, targets.subarray(b * T, (b + 1) * T), T);
  });
  return { inputs, targets, B, T };
}

/** A 2-layer GPT-2 trained until it knows the answers of `rows` (loss on the answer + end marker only). */
export function memorise(tok: BpeTokenizer, rows: readonly TaskExample[], steps = 150, template: PromptTemplate = TINYLLM_TEMPLATE): GPT2 {
  const model = new GPT2({ nLayer: 2, nHead: 2, nEmbd: 32, vocabSize: tok.vocabSize, blockSize: 64 }, { seed: 3 });
  const { inputs, targets, B, T } = answerBatch(tok, rows, template);
  const opt = new FlatAdamW(model.params.table, model.alloc, { beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0 });
  for (let s = 0; s < steps; s++) {
    model.zeroGrad();
    model.forward(inputs, targets, B, T);
    model.backward();
    opt.step(model.kernels, model.params.data, model.ensureGrads().data, 1e-2);
  }
  return model;
}

/** Runs a tinyllm command with its console and stdout/stderr captured. */
export async function quiet(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...a) => void out.push(a.join(' ')));
  const error = vi.spyOn(console, 'error').mockImplementation((...a) => void err.push(a.join(' ')));
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const ewrite = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(argv), out: out.join('\n'), err: err.join('\n') };
  } finally {
    log.mockRestore();
    error.mockRestore();
    write.mockRestore();
    ewrite.mockRestore();
  }
}
