// GPT-2's tokenizer, shipped with the project (data/tokenizer/gpt2: OpenAI's vocabulary and merges in
// Hugging Face format) so it works offline on a device; found relative to this module from src/ and dist/.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BpeTokenizer } from './bpe.js';
import { copyTokenizerFiles, loadTokenizer } from './files.js';

/** Directory of the shipped GPT-2 vocab.json + merges.txt. */
export const GPT2_DIR = fileURLToPath(new URL('../../data/tokenizer/gpt2/', import.meta.url));

let cached: BpeTokenizer | undefined;

/** GPT-2's tokenizer (50257 tokens, <|endoftext|> = 50256), loaded once and shared. */
export function gpt2(): BpeTokenizer {
  cached ??= loadTokenizer(GPT2_DIR);
  return cached;
}

/** A `--tokenizer` value: 'gpt2' (the shipped one) or a path for loadTokenizer. */
export function resolveTokenizer(spec: string): BpeTokenizer {
  return spec === 'gpt2' ? gpt2() : loadTokenizer(spec);
}

/** A `--tokenizer` value as it is recorded in manifests and checkpoints: 'gpt2', or the path made absolute. */
export function tokenizerSpec(spec: string): string {
  return spec === 'gpt2' ? spec : resolve(spec);
}

/** Writes the tokenizer named by a spec ('gpt2' or a path) into an export directory as Hugging Face files. */
export function exportTokenizer(spec: string, dir: string): string[] {
  return copyTokenizerFiles(spec, GPT2_DIR, dir);
}
