// Shared setup of the --rag end-to-end tests: in a temp dir, a tiny gesture-like task (12 training rows, 6 test
// rows) as JSONL files, a 2-layer GPT-2 (context 64) that has memorised the training rows, saved as a checkpoint
// with its BPE tokenizer, and the training rows plus test row 1 (a leak) as a third file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll } from 'vitest';
import type { TaskExample } from '../../src/task/read.js';
import { saveTokenizer } from '../../src/tokenizer/files.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';
import { memorise, tinyRows, tinyTokenizer } from '../eval/helpers.js';

export function ragFixture(prefix: string) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const train = tinyRows(12, 2, 'train.jsonl');
  const test = tinyRows(6, 3, 'test.jsonl');
  const { tok, bpe } = tinyTokenizer(train);
  const model = memorise(tok, train, 30);
  const tokDir = path.join(tmp, 'tok');
  saveTokenizer(bpe, tokDir);
  const ckpt = path.join(tmp, 'model.ckpt');
  saveCheckpoint(ckpt, { model, step: 1, tokenizer: tokDir, sequenceStart: 'endoftext' });
  const jsonl = (name: string, rs: readonly TaskExample[]) => {
    const file = path.join(tmp, name);
    fs.writeFileSync(file, rs.map((r) => JSON.stringify({ instruction: r.instruction, input: r.input, output: r.output })).join('\n') + '\n');
    return file;
  };
  return { tmp, train, test, tok, model, ckpt, trainFile: jsonl('train.jsonl', train), testFile: jsonl('test.jsonl', test), leakyFile: jsonl('leaky.jsonl', [...train, test[0]]), jsonl };
}
