// Ctrl-C handling for long work: the first SIGINT sets a flag that loops check at a safe point
// (after a step, after a shard) so they can save what was done and stop; a second SIGINT exits at once.
// A command that stopped this way throws Interrupted, and the CLI exits 130.
import { UserError } from './errors.js';

export interface InterruptFlag {
  readonly requested: boolean;
  /** Removes the SIGINT handler (call when the long work ends). */
  dispose(): void;
}

export function onInterrupt(message = 'interrupted: finishing the current step and saving (Ctrl-C again to quit now)'): InterruptFlag {
  const state = { requested: false };
  const handler = () => {
    if (state.requested) process.exit(130);
    state.requested = true;
    process.stderr.write(`\n${message}\n`);
  };
  process.on('SIGINT', handler);
  return {
    get requested() {
      return state.requested;
    },
    dispose() {
      process.off('SIGINT', handler);
    },
  };
}

/** Exit status of a command stopped by Ctrl-C (128 + SIGINT), as shells expect. */
export const EXIT_INTERRUPTED = 130;

/**
 * Thrown by a command that stopped on Ctrl-C after saving what it had; its message says what was kept and
 * how to continue. The CLI prints it and exits with EXIT_INTERRUPTED, and callers (e.g. `demo`) stop too.
 */
export class Interrupted extends UserError {
  constructor(message: string) {
    super(`interrupted: ${message}`);
    this.name = 'Interrupted';
  }
}
