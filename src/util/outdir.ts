// The rule every command that writes a folder follows (pretrain, and the coming finetune, export, …):
// before any long work, check — writing nothing — that the folder can be written, and refuse to replace
// earlier results in it unless the user asked to continue them (--resume) or to start over (--force).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsUserError, UserError } from './errors.js';

export interface OutDirRule {
  /** Files whose presence means the folder holds earlier results, e.g. ['checkpoint.ckpt', 'config.json']. */
  markers: string[];
  /** The user passed --force: starting over in the folder is allowed. */
  force?: boolean;
  /** How the earlier results can be continued instead (e.g. 'tinyllm pretrain --resume runs/x'), for the refusal. */
  resumeHint?: string;
  /** Name of the flag that set the folder, for messages (default '--out'). */
  flag?: string;
}

/**
 * Checks that `dir` may be used as an output folder: it is a folder or can be created (no file in the way),
 * it is writable (probed with a temporary folder that is removed at once), and it holds none of the rule's
 * marker files unless `force`. Throws a one-line UserError that says what to do; creates nothing.
 */
export function checkOutDir(dir: string, rule: OutDirRule): void {
  const flag = rule.flag ?? '--out';
  const st = fs.existsSync(dir) ? fs.statSync(dir) : undefined; // false too when a parent is a file (ENOTDIR)
  if (st && !st.isDirectory()) throw new UserError(`${flag} ${dir}: is a file, not a folder; choose another ${flag}`);
  if (st && !rule.force) {
    const found = rule.markers.filter((m) => fs.existsSync(path.join(dir, m)));
    if (found.length > 0) {
      const resume = rule.resumeHint ? `${rule.resumeHint} to continue it, ` : '';
      throw new UserError(`${flag} ${dir} already holds results (${found.join(', ')}); ${resume}--force to start over and replace them, or choose another ${flag}`);
    }
  }
  checkWritable(dir, flag);
}

/** Throws a UserError unless a file could be created in `dir` (or, if it does not exist yet, `dir` could be created). */
export function checkWritable(dir: string, flag = '--out'): void {
  let existing = path.resolve(dir);
  while (!fs.existsSync(existing) && path.dirname(existing) !== existing) existing = path.dirname(existing);
  try {
    fs.rmdirSync(fs.mkdtempSync(path.join(existing, '.tinyllm-probe-')));
  } catch (e) {
    const err = fsUserError(e as NodeJS.ErrnoException, existing, 'write into');
    throw new UserError(`${flag} ${dir}: ${err.message}`);
  }
}

/**
 * The same rule for a command that writes one file (an llm.c .bin, a .gguf, …): it must not be a folder, its
 * folder must be writable, and an existing file is replaced only with `force`. Creates nothing.
 */
export function checkOutFile(file: string, rule: Pick<OutDirRule, 'force' | 'flag'>): void {
  const flag = rule.flag ?? '--out';
  const st = fs.existsSync(file) ? fs.statSync(file) : undefined;
  if (st?.isDirectory()) throw new UserError(`${flag} ${file}: is a folder; give a file name`);
  if (st && !rule.force) throw new UserError(`${flag} ${file} already exists; --force to replace it, or choose another ${flag}`);
  checkWritable(path.dirname(path.resolve(file)), flag);
}
