// Decoding speed with the KV cache: tokens/s for GPT-2 30M and 124M (random weights), per kernel tier,
// after prefilling a 32-token prompt; greedy sampling so every run decodes the same number of tokens.
// Prefill is timed separately. Timings on a shared machine are noisy (load average printed).
// Run: npx tsx bench/generate.ts [--kernels wasm,js] [--models 30M,124M] [--tokens 32] [--threads N]
// Last stdout line: one JSON summary object.
import { loadavg } from 'node:os';
import { Bench } from 'tinybench';
import { availableTiers, createKernels, defaultThreads } from '../src/kernels/index.js';
import { presetConfig, type GPT2PresetName } from '../src/models/gpt2/config.js';
import { KVDecoder } from '../src/models/gpt2/decode.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { argmax } from '../src/models/gpt2/sampling.js';
import { Rng } from '../src/util/rng.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const tiers = (arg('kernels') ?? availableTiers().filter((t) => t !== 'ref').join(',')).split(',');
const models = (arg('models') ?? '30M,124M').split(',') as GPT2PresetName[];
const decodeTokens = Number(arg('tokens') ?? 32);
const threads = Number(arg('threads') ?? defaultThreads());
const PROMPT = 32;
console.log(`generate bench: tiers ${tiers.join(', ')}; models ${models.join(', ')}; prompt ${PROMPT}, decode ${decodeTokens} tokens; ${threads} threads; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);

interface Row {
  tier: string;
  model: string;
  threads: number;
  prefillMs: number;
  decodeTokPerSec: number;
  msPerToken: number;
}
const rows: Row[] = [];
const rng = new Rng(3);
for (const name of models) {
  const config = presetConfig(name);
  const model = new GPT2(config, { seed: 1 });
  const dec = new KVDecoder(model, PROMPT + decodeTokens);
  const prompt = Array.from({ length: PROMPT }, () => rng.int(config.vocabSize));
  for (const tier of tiers) {
    model.kernels = createKernels(tier, { threads });
    let prefillMs = 0;
    let decodeMs = 0;
    const bench = new Bench({ iterations: 2, time: 0, warmupIterations: 1, warmupTime: 0 });
    bench.add(`${tier} ${name}`, () => {
      dec.reset();
      const t0 = performance.now();
      let logits = dec.feed(prompt);
      const t1 = performance.now();
      for (let i = 0; i < decodeTokens; i++) logits = dec.feed([argmax(logits)]);
      prefillMs = t1 - t0;
      decodeMs = performance.now() - t1;
    });
    await bench.run();
    if (bench.tasks[0].result.state !== 'completed') throw new Error(`bench ${tier} ${name} failed`);
    const r: Row = {
      tier,
      model: name,
      threads: model.kernels.threads,
      prefillMs: +prefillMs.toFixed(1),
      decodeTokPerSec: +((decodeTokens * 1000) / decodeMs).toFixed(2),
      msPerToken: +(decodeMs / decodeTokens).toFixed(1),
    };
    rows.push(r);
    console.log(`${tier.padEnd(5)} ${name.padEnd(5)} prefill ${PROMPT} tok ${r.prefillMs.toFixed(0).padStart(6)} ms   decode ${r.decodeTokPerSec.toFixed(1).padStart(6)} tok/s (${r.msPerToken} ms/token)`);
  }
}
console.log(JSON.stringify({ bench: 'generate', threads, loadavg: loadavg().map((l) => +l.toFixed(2)), results: rows }));
