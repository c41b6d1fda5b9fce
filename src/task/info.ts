// task.json in a fine-tuning run directory: how the model was trained to read prompts — tokenizer,
// template, sequence start, special-token handling, label set — so eval, generate and export build
// prompts exactly as training did. Magic "tinyllm-task", version 1.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Overflow } from './encode.js';
import type { TaskColumns } from './read.js';
import { parseSequenceStart, type SequenceStart } from './sequence.js';
import { templateFromObject, templateObject, type PromptTemplate } from './template.js';

export const TASK_FILE = 'task.json';
export const TASK_FORMAT = 'tinyllm-task';

export interface TaskInfo {
  /** 'gpt2' or a tokenizer path. */
  tokenizer: string;
  template: PromptTemplate;
  sequenceStart: SequenceStart;
  allowSpecial: boolean;
  /** Distinct training outputs (the closed label set for ranking), in first-seen order; empty when the answers are numbers. */
  labels: string[];
  /** Column/field names given (absent = the Alpaca defaults). */
  columns: TaskColumns;
  /** Instruction of rows without one. */
  instruction: string;
  /** Instruction of a request that gives none: the training rows' most common (task/read.ts commonInstruction). */
  requestInstruction: string;
  overflow: Overflow;
  /** The model's context when trained. */
  contextLength: number;
}

export function writeTaskInfo(dir: string, t: TaskInfo): void {
  writeFileAtomic(path.join(dir, TASK_FILE), `${JSON.stringify({ format: TASK_FORMAT, version: 1, ...t, template: templateObject(t.template) }, null, 2)}\n`);
}

/** The task.json of a run directory (or of the directory holding a checkpoint file), or null when there is none. */
export function readTaskInfo(runDirOrFile: string): TaskInfo | null {
  const dir = fs.statSync(runDirOrFile, { throwIfNoEntry: false })?.isDirectory() ? runDirOrFile : path.dirname(runDirOrFile);
  const file = path.join(dir, TASK_FILE);
  if (!fs.existsSync(file)) return null;
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message}); restore it from the run or fine-tune again`);
  }
  if (o.format !== TASK_FORMAT) throw new UserError(`${file}: not a task file (no "format": "${TASK_FORMAT}")`);
  if (o.version !== 1) throw new UserError(`${file}: task file version ${String(o.version)} is not supported (this tinyllm reads version 1)`);
  return {
    ...(o as unknown as TaskInfo),
    // written since requests default to it; older runs record only the instruction of rows without one
    requestInstruction: typeof o.requestInstruction === 'string' ? o.requestInstruction : String(o.instruction ?? ''),
    template: templateFromObject(o.template, `${file} (template)`),
    sequenceStart: parseSequenceStart(String(o.sequenceStart), `${file} (sequenceStart)`),
  };
}
