// llama.cpp checks our GGUF export: a GPT-2 is exported as F32, F16 and Q8_0; node-llama-cpp's own GGUF parser
// (readGgufFileInfo) must read back the metadata and tensor table we wrote; then llama.cpp (CPU, 1 thread) and
// tinyllm (reading the same .gguf back) run the same prompt and greedy continuation, and we compare llama.cpp's
// next-token distribution with ours at every step: max |Δ log p| (log-softmax = logits up to a per-step constant,
// which is what node-llama-cpp exposes) and whether the greedy (argmax) tokens agree.
// Run: npm run check:llamacpp   (installs node-llama-cpp into .cache/llamacpp first)
//      npx tsx scripts/llamacpp-check.ts [--model <weights: run dir, HF dir, llm.c .bin, .gguf>] [--tokens 32]
// Exit code 1 when a check fails. Last stdout line: one JSON summary.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadWeights } from '../src/export/load.js';
import { saveGgufGPT2, type GgufDtype } from '../src/export/gguf-gpt2.js';
import { GgufReader } from '../src/export/gguf.js';
import { paramsFromFlat } from '../src/export/params.js';
import { numParams, type GPT2Config } from '../src/models/gpt2/config.js';
import { KVDecoder } from '../src/models/gpt2/decode.js';
import { GPT2 } from '../src/models/gpt2/model.js';
import { argmax } from '../src/models/gpt2/sampling.js';
import { gpt2 } from '../src/tokenizer/gpt2.js';
import type { BpeTokenizer } from '../src/tokenizer/bpe.js';
import { Rng } from '../src/util/rng.js';
import { LLAMACPP_DIR, loadNodeLlamaCpp, NODE_LLAMA_CPP_VERSION, type NodeLlamaCpp } from './llamacpp.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const PROMPT = 'The robot reads its sensors: accel x=0.12 y=-0.98 z=0.05, then';
/** Bounds on max |Δ log p| per dtype. llama.cpp converts activations to f16 for F16 weights and quantizes
 * them to Q8_0 for Q8_0 weights before each matmul (ggml's vec_dot_type), so those differ more from our f32
 * arithmetic on the same dequantized weights; F32 only differs by summation order and GELU/exp approximations. */
const TOLERANCE: Record<GgufDtype, number> = { f32: 0.01, f16: 0.05, q8_0: 0.25 };

/** A GPT-2 with GPT-2's vocabulary and random weights large enough to give peaked, non-trivial distributions. */
function randomModel(): { config: GPT2Config; flat: Float32Array } {
  const config: GPT2Config = { blockSize: 256, vocabSize: 50257, nLayer: 2, nHead: 4, nEmbd: 128 };
  const rng = new Rng(11);
  const flat = new Float32Array(numParams(config));
  for (let i = 0; i < flat.length; i++) flat[i] = rng.normal(0, 0.3);
  return { config, flat };
}

interface Row {
  dtype: GgufDtype;
  fileBytes: number;
  referenceHeader: boolean;
  tokenizerMatch: boolean;
  steps: number;
  greedyMatch: number;
  /** Steps where llama.cpp's argmax differs from ours by less than the tolerance in our log p: a near-tie, not an error. */
  nearTies: number;
  maxAbsDeltaLogProb: number;
  pass: boolean;
}

/** node-llama-cpp's independent GGUF parser must see exactly the metadata and tensor table our reader sees. */
async function checkHeader(ll: NodeLlamaCpp, file: string, config: GPT2Config): Promise<string[]> {
  const info = await ll.readGgufFileInfo(file, { readTensorInfo: true });
  const problems: string[] = [];
  const md = info.metadata as { general?: { architecture?: string }; gpt2?: Record<string, unknown>; tokenizer?: { ggml?: { model?: string; tokens?: unknown[] } } };
  const expect = (what: string, got: unknown, want: unknown) => {
    if (got !== want) problems.push(`${what}: node-llama-cpp reads ${String(got)}, expected ${String(want)}`);
  };
  expect('version', info.version, 3);
  expect('general.architecture', md.general?.architecture, 'gpt2');
  expect('gpt2.block_count', md.gpt2?.block_count, config.nLayer);
  expect('gpt2.context_length', md.gpt2?.context_length, config.blockSize);
  expect('gpt2.embedding_length', md.gpt2?.embedding_length, config.nEmbd);
  expect('gpt2.feed_forward_length', md.gpt2?.feed_forward_length, 4 * config.nEmbd);
  expect('gpt2.attention.head_count', (md.gpt2?.attention as Record<string, unknown> | undefined)?.head_count, config.nHead);
  expect('tokenizer.ggml.model', md.tokenizer?.ggml?.model, 'gpt2');
  expect('tokenizer.ggml.tokens length', md.tokenizer?.ggml?.tokens?.length, config.vocabSize);
  const ours = new GgufReader(file);
  try {
    const theirs = info.tensorInfo ?? [];
    expect('tensor count', theirs.length, ours.tensors.size);
    for (const t of theirs) {
      const o = ours.tensors.get(t.name);
      if (!o) problems.push(`tensor ${t.name}: not in our reader`);
      else {
        expect(`${t.name} dims`, t.dimensions.map(Number).join(','), o.dims.join(','));
        expect(`${t.name} type`, t.ggmlType, o.typeId);
        expect(`${t.name} offset`, Number(t.offset), o.offset);
      }
    }
  } finally {
    ours.close();
  }
  return problems;
}

async function compare(ll: NodeLlamaCpp, file: string, dtype: GgufDtype, tokenizer: BpeTokenizer, steps: number): Promise<Row> {
  const config = loadWeights(file).config;
  const problems = await checkHeader(ll, file, config);
  for (const p of problems) console.log(`  header mismatch: ${p}`);

  let ours: GPT2 | undefined;
  loadWeights(file, {
    allocate: (c) => {
      ours = new GPT2(c, { seed: null });
      return ours.params.data as Float32Array;
    },
  });
  const dec = new KVDecoder(ours as GPT2);

  const llama = await ll.getLlama({ gpu: false, build: 'never', logLevel: 'error' });
  const model = await llama.loadModel({ modelPath: file, gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: config.blockSize, threads: 1, batchSize: config.blockSize });
  const seq = ctx.getSequence();

  const prompt = tokenizer.encode(PROMPT);
  const theirPrompt = model.tokenize(PROMPT);
  const tokenizerMatch = theirPrompt.length === prompt.length && theirPrompt.every((t, i) => t === prompt[i]);
  if (!tokenizerMatch) console.log(`  tokenizer mismatch: ours [${prompt.join(',')}], llama.cpp [${theirPrompt.join(',')}]`);

  const dist = { generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0 } } };
  let input: number[] = prompt;
  let logits = dec.feed(input);
  let maxDelta = 0;
  let greedyMatch = 0;
  let nearTies = 0;
  const generated: number[] = [];
  const llamaGreedy: number[] = [];
  for (let step = 0; step < steps; step++) {
    const items: Parameters<typeof seq.controlledEvaluate>[0] = input.map((t, i) => (i === input.length - 1 ? [t, dist] : t));
    const res = await seq.controlledEvaluate(items);
    const probs = res[input.length - 1]?.next.probabilities;
    if (!probs) throw new Error('node-llama-cpp returned no probabilities');
    // our log-softmax
    let max = -Infinity;
    for (let v = 0; v < logits.length; v++) max = Math.max(max, logits[v]);
    let sum = 0;
    for (let v = 0; v < logits.length; v++) sum += Math.exp(logits[v] - max);
    const lse = max + Math.log(sum);
    for (const [v, p] of probs) if (p > 0) maxDelta = Math.max(maxDelta, Math.abs(Math.log(p) - (logits[v] - lse)));
    const mine = argmax(logits);
    const theirs = probs.keys().next().value as number; // the map is sorted by probability, highest first
    if (mine === theirs) greedyMatch++;
    else if (logits[mine] - logits[theirs] < TOLERANCE[dtype]) nearTies++;
    else console.log(`  step ${step}: llama.cpp picks ${theirs}, we pick ${mine} with a lead of ${(logits[mine] - logits[theirs]).toFixed(4)} in log p`);
    generated.push(mine);
    llamaGreedy.push(theirs);
    input = [mine]; // both continue from our greedy token, so every step compares the same context
    logits = dec.feed(input);
  }
  console.log(`  ours      : ${JSON.stringify(tokenizer.decode(generated))}`);
  console.log(`  llama.cpp : ${JSON.stringify(tokenizer.decode(llamaGreedy))} (argmax at each step of the same context)`);
  await ctx.dispose();
  await model.dispose();
  await llama.dispose();
  const maxAbsDeltaLogProb = +maxDelta.toPrecision(3);
  return {
    dtype,
    fileBytes: fs.statSync(file).size,
    referenceHeader: problems.length === 0,
    tokenizerMatch,
    steps,
    greedyMatch,
    nearTies,
    maxAbsDeltaLogProb,
    pass: problems.length === 0 && tokenizerMatch && greedyMatch + nearTies === steps && maxAbsDeltaLogProb <= TOLERANCE[dtype],
  };
}

const found = await loadNodeLlamaCpp();
if (!found.mod) {
  console.error(`llamacpp-check: ${found.reason}`);
  process.exit(1);
}
const steps = Number(arg('tokens') ?? 32);
const modelArg = arg('model');
let config: GPT2Config;
let flat: Float32Array;
let tokenizer: BpeTokenizer = gpt2();
if (modelArg) {
  const w = loadWeights(modelArg);
  ({ config, flat } = w);
  tokenizer = w.tokenizer ?? tokenizer;
} else ({ config, flat } = randomModel());
const outDir = path.join(LLAMACPP_DIR, 'check');
fs.mkdirSync(outDir, { recursive: true });
console.log(`llama.cpp check (node-llama-cpp ${NODE_LLAMA_CPP_VERSION}, CPU, 1 thread): GPT-2 L=${config.nLayer} H=${config.nHead} C=${config.nEmbd} V=${config.vocabSize} (${modelArg ?? 'random weights'}), ${steps} greedy steps`);
const t0 = performance.now();
const rows: Row[] = [];
for (const dtype of ['f32', 'f16', 'q8_0'] as const) {
  const file = path.join(outDir, `model-${dtype}.gguf`);
  saveGgufGPT2(file, config, paramsFromFlat(config, flat), tokenizer.model, { dtype });
  console.log(`${dtype}: ${file}`);
  const r = await compare(found.mod, file, dtype, tokenizer, steps);
  rows.push(r);
  console.log(
    `  reference header ${r.referenceHeader ? 'ok' : 'MISMATCH'}; tokenizer ${r.tokenizerMatch ? 'same ids' : 'DIFFERENT ids'}; greedy tokens agree ${r.greedyMatch}/${r.steps}${r.nearTies ? ` (+${r.nearTies} near-tie)` : ''}; ` +
      `max |Δ log p| ${r.maxAbsDeltaLogProb} (bound ${TOLERANCE[dtype]}) ${r.pass ? 'PASS' : 'FAIL'}`,
  );
}
const seconds = +((performance.now() - t0) / 1000).toFixed(1);
console.log(JSON.stringify({ check: 'llamacpp', nodeLlamaCpp: NODE_LLAMA_CPP_VERSION, seconds, pass: rows.every((r) => r.pass), results: rows }));
process.exit(rows.every((r) => r.pass) ? 0 : 1);
