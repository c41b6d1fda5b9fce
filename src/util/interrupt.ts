// Ctrl-C handling for long work: the first SIGINT sets a flag that loops check at a safe point
// (after a step, after a shard) so they can save what was done and stop; a second SIGINT exits at once.

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

/** Thrown by long work that stopped on Ctrl-C after saving; the CLI prints the message and exits 130. */
export class Interrupted extends Error {
  readonly exitCode = 130;
  constructor(message: string) {
    super(message);
    this.name = 'Interrupted';
  }
}
