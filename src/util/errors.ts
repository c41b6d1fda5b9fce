// UserError: a problem with the user's input (a file, a flag, a field) rather than a bug.
// The CLI prints its message alone, without a stack trace; the message should name the file,
// line or field and say how to fix it.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A value for an error message: JSON-quoted and cut to `max` characters, so a huge field stays a short line. */
export function quoteValue(value: unknown, max = 80): string {
  const s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** Another error's message (e.g. JSON.parse's, which quotes the bad bytes) as one short line for a UserError. */
export function oneLine(message: string, max = 160): string {
  const s = message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
