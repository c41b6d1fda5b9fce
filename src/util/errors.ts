// UserError: a problem with the user's input (a file, a flag, a field) rather than a bug.
// The CLI prints its message alone, without a stack trace; the message should name the file,
// line or field and say how to fix it.

export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}
