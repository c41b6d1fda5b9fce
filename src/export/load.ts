// loadWeights: open GPT-2 weights in any format tinyllm reads, recognised by content rather than by
// file name: a Hugging Face directory, a tinyllm run directory, a .safetensors file (config.json beside it), an llm.c checkpoint
// (int32 magic 20240326 first), a GGUF file (magic "GGUF", with its tokenizer), a tinyllm training checkpoint
// (magic "TLLMCKPT", read by its own loader), or a .tllm deployment file (magic "TLLMODEL"; int8/f16 dequantized to f32).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSequenceStart } from '../task/sequence.js';
import { UserError } from '../util/errors.js';
import { openForRead } from './binary.js';
import { loadHFGPT2 } from './hf-gpt2.js';
import { LLMC_MAGIC, readLlmcCheckpoint } from './llmc.js';
import { allocateWeights, type LoadedWeights, type LoadOptions } from './params.js';
import { GGUF_MAGIC } from './gguf.js';
import { decodeF16 } from './half.js';
import { dequantizeInt8, type Int8Group } from './quantize.js';
import { isTllm, readTllm } from './tllm.js';
import { loadGgufGPT2 } from './gguf-gpt2.js';
import type { BpeTokenizer } from '../tokenizer/bpe.js';
import { CHECKPOINT_FILE, checkpointPath, isCheckpoint, loadCheckpointWeights } from '../train/checkpoint.js';
import { plainF32 } from '../models/gpt2/params.js';

export type WeightsFormat = 'hf' | 'safetensors' | 'llmc' | 'gguf' | 'tinyllm' | 'tllm';

export interface DetectedWeights extends LoadedWeights {
  format: WeightsFormat;
  /** The tokenizer stored in the file (GGUF), if any. */
  tokenizer?: BpeTokenizer | null;
}

/** Identifies the format of `p` from the file system and the first bytes of the file. */
export function detectFormat(p: string): WeightsFormat {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) throw new UserError(`${p}: no such file or directory`);
  if (st.isDirectory()) return fs.existsSync(path.join(p, CHECKPOINT_FILE)) ? 'tinyllm' : 'hf';
  if (isCheckpoint(p)) return 'tinyllm';
  if (isTllm(p)) return 'tllm';
  const head = new Uint8Array(9);
  const fd = openForRead(p);
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, head.length, 0);
  } finally {
    fs.closeSync(fd);
  }
  const dv = new DataView(head.buffer);
  if (n >= 4 && dv.getInt32(0, true) === LLMC_MAGIC) return 'llmc';
  if (n >= 4 && dv.getUint32(0, true) === GGUF_MAGIC) return 'gguf';
  if (n >= 9 && head[8] === 0x7b && dv.getBigUint64(0, true) > 0n) return 'safetensors';
  throw new UserError(
    `${p}: unrecognised weights file; tinyllm reads a Hugging Face checkpoint directory (config.json + model.safetensors), ` +
      `a .safetensors file with config.json beside it, an llm.c checkpoint (.bin, magic ${LLMC_MAGIC}), a GGUF file or a tinyllm training checkpoint`,
  );
}

/** Loads GPT-2 weights from any supported format into one flat paramSpecs-ordered buffer. */
export function loadWeights(p: string, opts: LoadOptions = {}): DetectedWeights {
  const format = detectFormat(p);
  if (format === 'gguf') {
    const g = loadGgufGPT2(p, opts);
    return { config: g.config, params: g.params, flat: g.flat, format, tokenizer: g.tokenizer };
  }
  if (format === 'tllm') return { ...loadTllmWeights(p, opts), format };
  const w = format === 'llmc' ? readLlmcCheckpoint(p, opts) : format === 'tinyllm' ? loadTrainingCheckpoint(checkpointPath(p), opts) : loadHFGPT2(p, opts);
  return { config: w.config, params: w.params, flat: w.flat, format, ...(w.sequenceStart ? { sequenceStart: w.sequenceStart } : {}) };
}

/** Weights of a training checkpoint, through src/train/checkpoint.ts (which validates its checksums). */
function loadTrainingCheckpoint(p: string, opts: LoadOptions): LoadedWeights {
  const { model, header } = loadCheckpointWeights(p, { alloc: plainF32 });
  const data = model.params.data as Float32Array;
  const out = allocateWeights(model.config, opts.allocate ? opts : { allocate: () => data });
  if (opts.allocate) out.flat.set(data);
  return header.sequenceStart ? { ...out, sequenceStart: parseSequenceStart(header.sequenceStart, `${p}: sequenceStart`) } : out;
}

/** The f32 values of a .tllm file's weights (int8 and f16 tensors dequantized), and its sequence start. */
function loadTllmWeights(p: string, opts: LoadOptions): LoadedWeights {
  const f = readTllm(p);
  const out = allocateWeights(f.header.config, opts);
  const entry = new Map(f.header.tensors.map((t) => [t.name, t]));
  for (const [name, into] of out.params) {
    const e = entry.get(name);
    const data = f.tensor(name);
    if (e?.dtype === 'i8') {
      const [rows, cols] = e.shape;
      dequantizeInt8({ q: data as Int8Array, scales: f.tensor(`${name}.scale`) as Float32Array, rows, cols, group: e.group as Int8Group }, into as Float32Array);
    } else if (data instanceof Uint16Array) decodeF16(data, into as Float32Array);
    else into.set(data as Float32Array);
  }
  const rule = f.header.finetune?.startRule;
  const start = rule === undefined ? null : ['<|endoftext|>', 'endoftext'].includes(rule) ? 'endoftext' : ['', 'none'].includes(rule) ? 'none' : null;
  return start ? { ...out, sequenceStart: start } : out;
}
