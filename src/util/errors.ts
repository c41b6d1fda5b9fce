// UserError: a problem with the user's input (a file, a flag, a field) rather than a bug.
// The CLI prints its message alone, without a stack trace; the message should name the file,
// line or field and say how to fix it. Also: quoting offending values briefly, and one-line
// messages for file-system errors (EACCES, ENOSPC, …) that say what to do.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** Longest offending value quoted in a message; longer ones are cut and their length given. */
export const QUOTE_MAX = 80;

/** 'value' for an error message, cut to QUOTE_MAX characters (a 50 MB CSV field must not become a 50 MB message). */
export function quote(value: string, max = QUOTE_MAX): string {
  if (value.length <= max) return `'${value}'`;
  return `'${value.slice(0, max)}…' (${value.length.toLocaleString('en-US')} characters)`;
}

const FS_ADVICE: Record<string, string> = {
  EACCES: 'permission denied; choose a place you can write to, or fix its permissions',
  EPERM: 'operation not permitted; choose a place you can write to, or fix its permissions',
  EROFS: 'the file system is read-only; choose a place on a writable disk',
  ENOTDIR: 'a part of this path is a file, not a folder; choose another path',
  EISDIR: 'this is a folder, not a file; choose another path',
  EEXIST: 'something already exists there; remove it or choose another path',
  ENOTEMPTY: 'the folder is not empty; remove it or choose another path',
  ENOSPC: 'no space left on the device; free some space or write to another disk',
  EDQUOT: 'disk quota exceeded; free some space or write to another disk',
  ENOENT: 'no such file or folder; check the path',
  EMFILE: 'too many open files; raise the limit (ulimit -n) or close other programs',
};

/** True for a Node.js file-system error with a code this module has advice for. */
export function isFsError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && (e as NodeJS.ErrnoException).code! in FS_ADVICE;
}

/** A one-line UserError for a file-system error: the path, what went wrong and what to do. */
export function fsUserError(e: NodeJS.ErrnoException, path = e.path, doing = e.syscall): UserError {
  const code = e.code ?? 'error';
  const advice = FS_ADVICE[code] ?? e.message;
  const target = path ?? (e as { dest?: string }).dest ?? '';
  return new UserError(`cannot ${doing ?? 'write'} ${target}: ${advice} (${code})`);
}

/** A string cut to at most `max` characters (with '…'), e.g. a name from a file quoted in an error. */
export function clip(text: string, max = QUOTE_MAX): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Any value parsed from a file, for an error message: as JSON, cut to `max` characters (quote() is for strings). */
export function quoteValue(value: unknown, max = QUOTE_MAX): string {
  return clip(JSON.stringify(value) ?? String(value), max);
}

/** Another error's message (e.g. JSON.parse's, which quotes the bad bytes) as one short line for a UserError. */
export function oneLine(message: string, max = 160): string {
  return clip(message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)), max);
}
