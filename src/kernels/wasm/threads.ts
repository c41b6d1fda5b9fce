// Runs one export of a WebAssembly kernel module on several threads at once over a shared memory:
// worker t (1..threads-1) and the caller (t = 0) each call fn(...args, threads, t, t + 1) and the caller blocks
// until all are done (Atomics.wait on a shared control block, as a fork-join barrier).
// The worker source is inlined (eval) so it loads the same way from src/ and dist/.
import { Worker } from 'node:worker_threads';

// control block (Int32Array over a SharedArrayBuffer): [generation, pending, export id, argc, failed, ...args]
const GEN = 0;
const PENDING = 1;
const FN = 2;
const ARGC = 3;
const FAILED = 4;
const ARGS = 5;
const MAX_ARGS = 32;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { module, memory, ctl, names, t, threads } = workerData;
const inst = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => inst.exports[n]);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, ${GEN}, seen);
  seen = Atomics.load(ctl, ${GEN});
  try {
    const args = Array.from(ctl.subarray(${ARGS}, ${ARGS} + ctl[${ARGC}]));
    fns[ctl[${FN}]](...args, threads, t, t + 1);
  } catch (e) {
    Atomics.store(ctl, ${FAILED}, 1);
  }
  if (Atomics.sub(ctl, ${PENDING}, 1) === 1) Atomics.notify(ctl, ${PENDING});
}
`;

export class WasmThreads {
  private readonly ctl: Int32Array;
  private readonly fns: ((...args: number[]) => void)[];
  private readonly workers: Worker[] = [];

  /** `instance` is the caller's own instance of `module`; `names` the exports run() may call. */
  constructor(
    module: WebAssembly.Module,
    instance: WebAssembly.Instance,
    memory: WebAssembly.Memory,
    private readonly names: readonly string[],
    readonly threads: number,
  ) {
    this.ctl = new Int32Array(new SharedArrayBuffer(4 * (ARGS + MAX_ARGS)));
    this.fns = names.map((n) => instance.exports[n] as (...args: number[]) => void);
    for (let t = 1; t < threads; t++) {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, memory, ctl: this.ctl, names, t, threads } });
      w.unref();
      this.workers.push(w);
    }
  }

  /**
   * Calls export `name` with args plus (threads, t, t + 1) on every thread t and returns when all are done;
   * with parallel = false, only the caller runs, as fn(...args, 1, 0, 1).
   */
  run(name: string, args: number[], parallel = true): void {
    const id = this.names.indexOf(name);
    if (id < 0) throw new Error(`WasmThreads.run: unknown export '${name}'`);
    const fn = this.fns[id];
    if (this.threads === 1 || !parallel) return fn(...args, 1, 0, 1);
    if (args.length > MAX_ARGS) throw new RangeError(`WasmThreads.run: at most ${MAX_ARGS} args`);
    const ctl = this.ctl;
    ctl[FN] = id;
    ctl[ARGC] = args.length;
    ctl[FAILED] = 0;
    ctl.set(args, ARGS);
    Atomics.store(ctl, PENDING, this.threads - 1);
    Atomics.add(ctl, GEN, 1);
    Atomics.notify(ctl, GEN);
    fn(...args, this.threads, 0, 1);
    for (let p = Atomics.load(ctl, PENDING); p !== 0; p = Atomics.load(ctl, PENDING)) Atomics.wait(ctl, PENDING, p);
    if (ctl[FAILED]) throw new Error(`WasmThreads: '${name}' trapped on a worker thread`);
  }

  /** Stops the workers (the pool is unusable afterwards). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
