// A fine-tune's validation on the built-in gesture task: ranking the labels (one prefill per row, the labels
// scored after it; src/eval/rank.ts), against the forward pass over prompt + answer that measured the validation
// loss before the loss was taken from the ranking's scores of the true answers. ms per validation of --rows rows,
// medians of --rounds rounds with min and max, on the demo's model shape (4 × 128, context 512; the time does not
// depend on the weights, so they are a fresh init) or a --preset; and the two losses side by side.
// Run: npx tsx bench/validation.ts [--rows 64] [--rounds 5] [--preset 30M] [--threads N] [--quick]
// Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { rankingAccuracy } from '../src/eval/rank.js';
import { Finetuner } from '../src/finetune/finetuner.js';
import { defaultThreads, setKernels, availableTiers } from '../src/kernels/index.js';
import { presetConfig, type GPT2Config, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { sortedBatches, packBatch } from '../src/task/batch.js';
import { encodeTask } from '../src/task/encode.js';
import { labelSet } from '../src/task/read.js';
import { TINYLLM_TEMPLATE } from '../src/task/template.js';
import { gpt2 } from '../src/tokenizer/gpt2.js';
import { builtinTask } from './lib/tasks.js';
import { arg, median } from './lib/args.js';

const quick = process.argv.includes('--quick');
const nRows = Number(arg('rows') ?? (quick ? 8 : 64));
const rounds = Number(arg('rounds') ?? (quick ? 2 : 5));
const preset = arg('preset') as GPT2PresetName | undefined;
const threads = Number(arg('threads') ?? defaultThreads());
const tier = availableTiers().at(-1) as string;
setKernels(tier, { threads });

const { train, val: allVal } = await builtinTask('gesture', 0.5);
const rows = allVal.slice(0, nRows);

const tok = gpt2();
const config: GPT2Config = preset ? presetConfig(preset, { blockSize: 512 }) : { nLayer: 4, nHead: 4, nEmbd: 128, blockSize: 512, vocabSize: tok.vocabSize };
const model = new GPT2(config, { seed: 1 });
const labels = labelSet(train);
const prompt = { template: TINYLLM_TEMPLATE, start: 'endoftext' as const, contextLength: config.blockSize };
const val = encodeTask(tok, rows, prompt);
const B = 8; // the fine-tune's default batch
const ft = new Finetuner(model, { method: { kind: 'full' }, schedule: { lr: 0, warmup: 0, steps: 1, finalLrFrac: 1 }, gradClip: 0 });
ft.reserve(B, val.maxLength - 1, B * Math.max(...val.examples.map((e) => e.ids.length - e.promptLength)));
const batches = sortedBatches(val.examples.map((e) => e.ids.length), B).map((b) => packBatch(val.examples, b, tok.eotToken));
console.log(`validation bench: ${tier} × ${threads} threads; ${preset ?? 'L4 C128'} (context ${config.blockSize}); ${rows.length} gesture rows, longest ${val.maxLength} tokens; ${rounds} rounds; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const forwardMs: number[] = [];
const rankingMs: number[] = [];
let forwardLoss = NaN;
let answerLoss: number | null = null;
for (let r = 0; r < rounds; r++) {
  let t = performance.now();
  forwardLoss = ft.evaluate(batches).loss;
  forwardMs.push(performance.now() - t);
  t = performance.now();
  answerLoss = rankingAccuracy(model, tok, rows, labels, prompt).answerLoss;
  rankingMs.push(performance.now() - t);
}
const summary = (xs: number[]) => ({ median: Math.round(median(xs)), min: Math.round(Math.min(...xs)), max: Math.round(Math.max(...xs)) });
const f = summary(forwardMs);
const k = summary(rankingMs);
console.log(`forward loss pass: ${f.median} ms (min ${f.min}, max ${f.max}); ranking: ${k.median} ms (min ${k.min}, max ${k.max}); a validation with both ${f.median + k.median} ms, ranking alone ${((100 * k.median) / (f.median + k.median)).toFixed(0)}% of it`);
console.log(`loss: forward ${forwardLoss.toFixed(6)}, from the ranking's true-answer scores ${answerLoss?.toFixed(6)}`);
console.log(JSON.stringify({ bench: 'validation', tier, threads, model: preset ?? 'L4-C128', rows: rows.length, rounds, loadavg: loadavg().map((l) => +l.toFixed(2)), forwardLossMs: f, rankingMs: k, forwardLoss, answerLoss }));
