// The model card the server shows (/v1/models "meta", the page at /): config, parameter count, quantization,
// file size, tokenizer, and the fine-tune fields (template, sequence start, labels) when the .tllm file has them.
import * as path from 'node:path';
import type { LoadedModel } from '../runtime/model.js';
import { renderExample } from '../task/template.js';

export interface ModelCard {
  id: string;
  file: string;
  config: LoadedModel['config'];
  parameters: number;
  quantization: LoadedModel['header']['quantization'];
  fileBytes: number;
  tokenizer: string;
  contextTokens: number;
  finetune: LoadedModel['finetune'] | null;
  /** How the template lays out a request and its answer, with {instruction}, {input} and {answer} shown as such (null without a template). */
  promptFormat: string | null;
}

export function modelCard(model: LoadedModel): ModelCard {
  const { header } = model;
  const t = model.finetune?.promptTemplate;
  const parameters = header.tensors
    .filter((t) => t.dtype !== 'u8' && !t.name.endsWith('.scale'))
    .reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  return {
    id: path.basename(model.file).replace(/\.tllm$/i, ''),
    file: path.basename(model.file),
    config: model.config,
    parameters,
    quantization: header.quantization,
    fileBytes: model.fileBytes,
    tokenizer: 'name' in header.tokenizer ? header.tokenizer.name : `embedded (${model.tokenizer.vocabSize} tokens)`,
    contextTokens: model.config.blockSize,
    finetune: model.finetune ?? null,
    promptFormat: t ? renderExample(t, { instruction: '{instruction}', input: '{input}', output: '{answer}' }) : null,
  };
}
