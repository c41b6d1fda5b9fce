// Shared setup of the runtime tests: a tiny GPT-2 with a byte-level tokenizer (256 bytes + <|endoftext|>) that a
// .tllm file embeds, exported under a given scheme to a temp file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { exportTllm, type TllmScheme } from '../../src/export/deploy.js';
import type { NamedParams } from '../../src/export/params.js';
import type { GPT2Config } from '../../src/models/gpt2/config.js';
import { GPT2 } from '../../src/models/gpt2/model.js';
import { BpeTokenizer } from '../../src/tokenizer/bpe.js';
import { tokenizerJsonText } from '../../src/tokenizer/files.js';
import { Rng } from '../../src/util/rng.js';

export const byteTokenizer = new BpeTokenizer({
  tokens: [...Array.from({ length: 256 }, (_, b) => Uint8Array.of(b)), new TextEncoder().encode('<|endoftext|>')],
  merges: [],
  special: new Map([['<|endoftext|>', 256]]),
});

export const tinyConfig: GPT2Config = { nLayer: 2, nHead: 2, nEmbd: 48, vocabSize: 260, blockSize: 96 };

/** A tiny model with weights spread wider than the N(0, 0.02) init, so logits differ visibly between tokens. */
export function tinyModel(seed: number, config = tinyConfig): GPT2 {
  const model = new GPT2(config, { seed });
  const rng = new Rng(seed + 1);
  const d = model.params.data;
  for (let i = 0; i < d.length; i++) d[i] += rng.normal(0, 0.1);
  return model;
}

export function namedParams(model: GPT2): NamedParams {
  return new Map(model.params.names().map((n) => [n, model.params.get(n) as Float32Array]));
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tllm-'));
}

export function exportTiny(model: GPT2, scheme: TllmScheme, dir: string, name = 'm.tllm'): string {
  const file = path.join(dir, name);
  exportTllm(file, model.config, namedParams(model), { scheme, tokenizer: { json: tokenizerJsonText(byteTokenizer.model) } });
  return file;
}
