// The exchange form of GPT-2 weights between the file formats and the model: a Map from Hugging Face
// parameter name (paramSpecs) to a Float32Array in PyTorch (out, in) layout. Loaders fill ONE flat buffer
// in paramSpecs order (llm.c's order, what the model uses) and return named views into it.
import { numParams, type GPT2Config } from '../models/gpt2/config.js';
import { tensorTable } from '../models/gpt2/params.js';
import type { SequenceStart } from '../task/sequence.js';

export type NamedParams = Map<string, Float32Array>;

export interface LoadedWeights {
  config: GPT2Config;
  /** Named views into `flat`, keyed by paramSpecs names. */
  params: NamedParams;
  /** Every parameter, contiguous, in paramSpecs order (numParams(config) values). */
  flat: Float32Array;
  /** How the model's sequences start, when the file records it (tinyllm checkpoints, config.json tinyllm_sequence_start). */
  sequenceStart?: SequenceStart;
}

export interface LoadOptions {
  /**
   * Supplies the destination buffer once the config is known (e.g. the model's parameter buffer in an
   * arena), so loading needs no second copy. Must return numParams(config) floats; default: a new array.
   */
  allocate?: (config: GPT2Config) => Float32Array;
}

/** Names of views over a flat paramSpecs-ordered buffer (the model's tensorTable layout). */
export function paramsFromFlat(config: GPT2Config, flat: Float32Array): NamedParams {
  const n = numParams(config);
  if (flat.length !== n) throw new Error(`paramsFromFlat: buffer holds ${flat.length} floats, the config needs ${n}`);
  return new Map(tensorTable(config).map((e) => [e.name, flat.subarray(e.offset, e.offset + e.size)]));
}

/** Allocates (via opts.allocate or a new array) the flat buffer and its named views. */
export function allocateWeights(config: GPT2Config, opts: LoadOptions = {}): LoadedWeights {
  const flat = opts.allocate ? opts.allocate(config) : new Float32Array(numParams(config));
  return { config, flat, params: paramsFromFlat(config, flat) };
}

/** Checks that `params` holds exactly the config's parameters with the right sizes (for savers). */
export function checkParams(config: GPT2Config, params: NamedParams, who: string): void {
  const table = tensorTable(config);
  for (const e of table) {
    const a = params.get(e.name);
    if (!a) throw new Error(`${who}: parameter '${e.name}' is missing`);
    if (a.length !== e.size) throw new Error(`${who}: parameter '${e.name}' has ${a.length} values, shape [${e.shape}] needs ${e.size}`);
  }
  if (params.size !== table.length) {
    const known = new Set(table.map((e) => e.name));
    const extra = [...params.keys()].filter((k) => !known.has(k));
    throw new Error(`${who}: unexpected parameters ${extra.join(', ')} (expected exactly the paramSpecs names)`);
  }
}
