// The built-in task splits for a benchmark: generated into a temporary directory, read, and the directory removed.
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { generateDatasets } from '../../src/data/generate/index.js';
import { readTaskFile, type TaskExample } from '../../src/task/read.js';

export async function builtinTask(task: 'gesture' | 'robot', scale: number): Promise<{ train: TaskExample[]; val: TaskExample[]; test: TaskExample[] }> {
  const dir = fs.mkdtempSync(path.join(tmpdir(), 'tinyllm-bench-'));
  try {
    generateDatasets({ out: dir, scale });
    const read = (split: string) => readTaskFile(path.join(dir, task, `${split}.jsonl`));
    return { train: await read('train'), val: await read('val'), test: await read('test') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
