// `tinyllm convert <in> <out>`: move GPT-2 weights between tools. Reads any format loadWeights
// recognises (Hugging Face dir / .safetensors, llm.c .bin, tinyllm checkpoint) and writes a Hugging Face directory
// (config.json + model.safetensors) or an llm.c checkpoint.
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { checkOutDir, checkOutFile } from '../../util/outdir.js';
import { numParams, type GPT2Config } from '../../models/gpt2/config.js';
import { loadWeights, type WeightsFormat } from '../../export/load.js';
import { saveHFGPT2 } from '../../export/hf-gpt2.js';
import { writeLlmcCheckpoint } from '../../export/llmc.js';
import type { WeightDtype } from '../../export/binary.js';
import { checkpointPath, readCheckpointHeader } from '../../train/checkpoint.js';
import { exportTokenizer } from '../../tokenizer/index.js';

export const summary = 'convert GPT-2 weights between Hugging Face safetensors and llm.c checkpoints';

const options = {
  to: { type: 'string', help: "output format: 'hf' (directory with config.json + model.safetensors) or 'llmc' (.bin); default: llmc if <out> ends in .bin, else hf" },
  dtype: {
    type: 'string',
    help: "stored weight type: f32, f16 (hf only) or bf16 (llm.c's default CUDA build loads bf16 = version 5; its CPU and PRECISION=FP32 builds load f32)",
    default: 'f32',
  },
  force: { type: 'boolean', help: 'replace <out> if it already holds a model' },
} satisfies OptionSpecs;

const FORMAT_NAMES: Record<WeightsFormat, string> = {
  hf: 'Hugging Face directory',
  safetensors: 'safetensors file',
  llmc: 'llm.c checkpoint',
  tinyllm: 'tinyllm training checkpoint',
};

function describeConfig(c: GPT2Config): string {
  const n = numParams(c);
  return `GPT-2 n_layer=${c.nLayer} n_head=${c.nHead} n_embd=${c.nEmbd} block_size=${c.blockSize} vocab_size=${c.vocabSize}, ${n.toLocaleString('en-US')} parameters (${(n / 1e6).toFixed(1)}M)`;
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('convert', argv, options, { usage: '<in> <out> [--to hf|llmc] [--dtype f32|f16|bf16] [--force]', summary });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  if (positionals.length !== 2) throw new UserError(`expected <in> and <out>, got ${positionals.length} argument(s) (see tinyllm convert --help)`);
  const [input, output] = positionals;
  const to = o.to ?? (output.toLowerCase().endsWith('.bin') ? 'llmc' : 'hf');
  if (to !== 'hf' && to !== 'llmc') throw new UserError(`option --to must be 'hf' or 'llmc', got '${to}'`);
  if (!['f32', 'f16', 'bf16'].includes(o.dtype)) throw new UserError(`option --dtype must be f32, f16 or bf16, got '${o.dtype}'`);
  const dtype = o.dtype as WeightDtype;
  if (to === 'llmc' && dtype === 'f16') throw new UserError('option --dtype f16: llm.c checkpoints store f32 (version 3) or bf16 (version 5); use --dtype f32 or bf16');

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
    saveHFGPT2(output, w.config, w.params, { dtype, sequenceStart: w.sequenceStart });
    if (tokenizer) console.log(`      tokenizer ${tokenizer}: ${exportTokenizer(tokenizer, output).join(', ')}`);
  } else {
    writeLlmcCheckpoint(output, w.config, w.params, { dtype: dtype === 'bf16' ? 'bf16' : 'f32' });
    if (tokenizer && tokenizer !== 'gpt2') console.log(`      note: the model's tokenizer is ${tokenizer}, not GPT-2's; llm.c decodes with GPT-2's unless given this one`);
  }
  const secs = ((performance.now() - t0) / 1000).toFixed(1);
  console.log(`wrote ${output} (${FORMAT_NAMES[to]}, ${dtype}) in ${secs}s`);
}
