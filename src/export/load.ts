// loadWeights: open GPT-2 weights in any format tinyllm reads, recognised by content rather than by
// file name: a Hugging Face directory, a .safetensors file (config.json beside it), or an llm.c
// checkpoint (int32 magic 20240326 first).
import * as fs from 'node:fs';
import { UserError } from '../util/errors.js';
import { openForRead } from './binary.js';
import { loadHFGPT2 } from './hf-gpt2.js';
import { LLMC_MAGIC, readLlmcCheckpoint } from './llmc.js';
import type { LoadedWeights, LoadOptions } from './params.js';

export type WeightsFormat = 'hf' | 'safetensors' | 'llmc';

export interface DetectedWeights extends LoadedWeights {
  format: WeightsFormat;
}

/** Identifies the format of `p` from the file system and the first bytes of the file. */
export function detectFormat(p: string): WeightsFormat {
  const st = fs.statSync(p, { throwIfNoEntry: false });
  if (!st) throw new UserError(`${p}: no such file or directory`);
  if (st.isDirectory()) return 'hf';
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
  if (n >= 9 && head[8] === 0x7b && dv.getBigUint64(0, true) > 0n) return 'safetensors';
  throw new UserError(
    `${p}: unrecognised weights file; tinyllm reads a Hugging Face checkpoint directory (config.json + model.safetensors), ` +
      `a .safetensors file with config.json beside it, or an llm.c checkpoint (.bin, magic ${LLMC_MAGIC})`,
  );
}

/** Loads GPT-2 weights from any supported format into one flat paramSpecs-ordered buffer. */
export function loadWeights(p: string, opts: LoadOptions = {}): DetectedWeights {
  const format = detectFormat(p);
  const w = format === 'llmc' ? readLlmcCheckpoint(p, opts) : loadHFGPT2(p, opts);
  return { config: w.config, params: w.params, flat: w.flat, format };
}
