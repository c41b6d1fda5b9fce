// UserError: a problem with the user's input (a file, a flag, a field) rather than a bug.
// The CLI prints its message alone, without a stack trace; the message should name the file,
// line or field and say how to fix it.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A string cut to at most `max` characters (with '…'), e.g. a name from a file quoted in an error. */
export function clip(text: string, max = 80): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** A value for an error message: JSON-quoted and cut to `max` characters, so a huge field stays a short line. */
export function quoteValue(value: unknown, max = 80): string {
  return clip(JSON.stringify(value) ?? String(value), max);
}

/** Another error's message (e.g. JSON.parse's, which quotes the bad bytes) as one short line for a UserError. */
export function oneLine(message: string, max = 160): string {
  return clip(message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => (c === '\n' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)), max);
}
