// `tinyllm convert <in> <out>`: move GPT-2 weights between tools. Reads any format loadWeights
// recognises (Hugging Face dir / .safetensors, llm.c .bin, GGUF, tinyllm checkpoint) and writes a Hugging Face directory
// (config.json + model.safetensors), an llm.c checkpoint or a GGUF file for llama.cpp (with the tokenizer).
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { checkOutDir, checkOutFile } from '../../util/outdir.js';
import { numParams, type GPT2Config } from '../../models/gpt2/config.js';
import { loadWeights, type WeightsFormat } from '../../export/load.js';
import { saveHFGPT2 } from '../../export/hf-gpt2.js';
import { writeLlmcCheckpoint } from '../../export/llmc.js';
import type { WeightDtype } from '../../export/binary.js';
import { saveGgufGPT2, type GgufDtype } from '../../export/gguf-gpt2.js';
import { checkpointPath, readCheckpointHeader } from '../../train/checkpoint.js';
import { exportTokenizer, resolveTokenizer } from '../../tokenizer/index.js';

export const summary = 'convert GPT-2 weights between Hugging Face safetensors, llm.c checkpoints and GGUF (llama.cpp)';

const options = {
  to: { type: 'string', help: "output format: 'hf' (directory with config.json + model.safetensors), 'llmc' (.bin) or 'gguf' (llama.cpp); default: from <out>'s extension (.bin, .gguf), else hf" },
  dtype: {
    type: 'string',
    help: "stored weight type: f32, f16 (hf, gguf), bf16 (hf, llmc: llm.c's default CUDA build loads bf16 = version 5; its CPU and PRECISION=FP32 builds load f32) or q8_0 (gguf)",
    default: 'f32',
  },
  force: { type: 'boolean', help: 'replace <out> if it already holds a model' },
  tokenizer: { type: 'string', help: "tokenizer stored in a GGUF file: gpt2 or a directory/tokenizer.json (default: the input's own, else gpt2)" },
} satisfies OptionSpecs;

const FORMAT_NAMES: Record<WeightsFormat, string> = {
  hf: 'Hugging Face directory',
  safetensors: 'safetensors file',
  llmc: 'llm.c checkpoint',
  gguf: 'GGUF file',
  tinyllm: 'tinyllm training checkpoint',
  tllm: '.tllm deployment file (dequantized)',
};

function describeConfig(c: GPT2Config): string {
  const n = numParams(c);
  return `GPT-2 n_layer=${c.nLayer} n_head=${c.nHead} n_embd=${c.nEmbd} block_size=${c.blockSize} vocab_size=${c.vocabSize}, ${n.toLocaleString('en-US')} parameters (${(n / 1e6).toFixed(1)}M)`;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('convert', argv, options, { usage: '<in> <out> [--to hf|llmc|gguf] [--dtype f32|f16|bf16|q8_0] [--force]', summary });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length !== 2) throw new UserError(`expected <in> and <out>, got ${positionals.length} argument(s) (see tinyllm convert --help)`);
  const [input, output] = positionals;
  const ext = output.toLowerCase();
  const to = o.to ?? (ext.endsWith('.bin') ? 'llmc' : ext.endsWith('.gguf') ? 'gguf' : 'hf');
  if (to !== 'hf' && to !== 'llmc' && to !== 'gguf') throw new UserError(`option --to must be 'hf', 'llmc' or 'gguf', got '${to}'`);
  if (!['f32', 'f16', 'bf16', 'q8_0'].includes(o.dtype)) throw new UserError(`option --dtype must be f32, f16, bf16 or q8_0, got '${o.dtype}'`);
  const dtype = o.dtype as WeightDtype | 'q8_0';
  if (to === 'llmc' && (dtype === 'f16' || dtype === 'q8_0')) throw new UserError(`option --dtype ${dtype}: llm.c checkpoints store f32 (version 3) or bf16 (version 5); use --dtype f32 or bf16`);
  if (to === 'hf' && dtype === 'q8_0') throw new UserError('option --dtype q8_0 is for GGUF output (--to gguf); safetensors stores f32, f16 or bf16');
  if (to === 'gguf' && dtype === 'bf16') throw new UserError('option --dtype bf16: tinyllm writes GGUF as f32, f16 or q8_0');

  // before reading the model: never replace an existing export without --force
  if (to === 'hf') checkOutDir(output, { markers: ['config.json', 'model.safetensors'], force: o.force, flag: '<out>' });
  else checkOutFile(output, { force: o.force, flag: '<out>' });

  const t0 = performance.now();
  const w = loadWeights(input);
  console.log(`read  ${input} (${FORMAT_NAMES[w.format]})`);
  console.log(`      ${describeConfig(w.config)}`);
  // a tinyllm checkpoint records the tokenizer its ids belong to: a Hugging Face export carries its files
  const tokenizer = w.format === 'tinyllm' ? readCheckpointHeader(checkpointPath(input)).tokenizer : null;
  if (to === 'hf') {
    saveHFGPT2(output, w.config, w.params, { dtype: dtype as WeightDtype, sequenceStart: w.sequenceStart });
    if (tokenizer) console.log(`      tokenizer ${tokenizer}: ${exportTokenizer(tokenizer, output).join(', ')}`);
  } else if (to === 'llmc') {
    writeLlmcCheckpoint(output, w.config, w.params, { dtype: dtype === 'bf16' ? 'bf16' : 'f32' });
    if (tokenizer && tokenizer !== 'gpt2') console.log(`      note: the model's tokenizer is ${tokenizer}, not GPT-2's; llm.c decodes with GPT-2's unless given this one`);
  } else {
    // a GGUF file carries its tokenizer: --tokenizer, else the input's own (a GGUF file's or a checkpoint's), else GPT-2's
    const tok = o.tokenizer !== undefined ? resolveTokenizer(o.tokenizer) : (w.tokenizer ?? resolveTokenizer(tokenizer ?? 'gpt2'));
    saveGgufGPT2(output, w.config, w.params, tok.model, { dtype: dtype as GgufDtype });
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`wrote ${output} (${FORMAT_NAMES[to]}, ${dtype}) in ${secs}s`);
}
