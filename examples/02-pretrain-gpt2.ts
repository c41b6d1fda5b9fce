// A walk-through of pre-training a small GPT-2 with the library API (what `tinyllm demo` does through the CLI):
// built-in sensor data → GPT-2 BPE shards → GPT2 + Trainer over flat buffers → validation → generation.
// Run: npx tsx examples/02-pretrain-gpt2.ts   (about half a minute on two cores; writes to runs/example-02)
import * as path from 'node:path';
import {
  generateDatasets, prepareBuiltinCorpus, ShardLoader, gpt2,
  GPT2, Trainer, generateText, getKernels, numParams, type GPT2Config,
} from '../src/index.js';

const dir = path.join('runs', 'example-02');
const tok = gpt2(); // GPT-2's byte-level BPE, shipped offline in data/tokenizer/gpt2

// 1. Data: deterministic sensing datasets, then llm.c shards (uint16 tokens, <|endoftext|> before each document).
generateDatasets({ out: path.join(dir, 'datasets'), seed: 1 });
await prepareBuiltinCorpus({ datasets: path.join(dir, 'datasets'), out: path.join(dir, 'data'), tokenizer: tok, seed: 1 });
const B = 4;
const T = 64;
const train = new ShardLoader({ pattern: path.join(dir, 'data', 'sensing_train'), B, T, seed: 1, split: 'train' });
const val = new ShardLoader({ pattern: path.join(dir, 'data', 'sensing_val'), B, T, seed: 0, split: 'val' });

// 2. Model: a custom size (the presets are presetConfig('30M') … presetConfig('124M')). Parameters, gradients and
//    AdamW moments each live in one buffer of the shared arena, so every kernel tier and thread works in place.
const config: GPT2Config = { nLayer: 2, nHead: 2, nEmbd: 64, blockSize: T, vocabSize: tok.vocabSize };
const model = new GPT2(config, { seed: 1 });
console.log(`GPT-2 with ${numParams(config).toLocaleString('en-US')} parameters on kernels '${getKernels().name}' × ${getKernels().threads} threads`);

// 3. Training: AdamW (β 0.9/0.95, decay on 2-D weights), warmup + cosine schedule, global-norm clipping.
const steps = 200;
const trainer = new Trainer(model, train, { B, T, gradAccum: 1, gradClip: 1, schedule: { lr: 2e-3, warmup: 20, steps, finalLrFrac: 0.1 } });
for (let i = 0; i < steps; i++) {
  const s = trainer.trainStep(); // forward, backward, clip, AdamW: one optimizer step
  if (s.step % 50 === 0) console.log(`step ${s.step}: loss ${s.loss.toFixed(3)}, lr ${s.lr.toExponential(2)}, grad norm ${s.gradNorm.toFixed(2)}`);
}
console.log(`validation loss ${trainer.evaluate(val, 10).toFixed(3)} nats/token`);

// 4. Generation with a KV cache, streamed through the UTF-8-safe decoder.
const { text } = generateText(model, tok, '[', { maxTokens: 24, temperature: 0.8, topK: 40, seed: 1 });
console.log(`sample: [${text}`);
