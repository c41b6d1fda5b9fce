// The worker pool: threads-1 worker_threads plus the caller share each kernel call over the shared arena
// (sharedArena().memory, a shared WebAssembly.Memory handed to every worker at start), fork-join style.
//
// A job is split into `chunks` ranges of `units` work units; every thread (the caller included) claims
// chunks with a compare-exchange on a shared counter until none are left, and the caller blocks in
// Atomics.wait until all chunks are done. Workers that have not started yet simply claim nothing, so
// the pool is usable immediately. Synchronization rules (a notify that lands before the wait is lost):
// every wait is on a value just read, in a loop that re-checks. The claim word carries the job's
// sequence tag, so a late worker can never claim a chunk of a newer job with an older job's arguments.
// Before sleeping, a thread spins up to SPIN_MS on the word it waits for: the next job of back-to-back
// kernel calls (or the last chunk) usually arrives sooner than a futex wake-up would.
//
// Contract for WebAssembly kernels (used by the 'wasm' tier):
//   pool.loadWasm(module)  sends a compiled WebAssembly.Module (importing only `env.memory`, the
//                          arena's shared memory) to every worker once; each thread instantiates it.
//                          Returns the caller thread's instance.
//   pool.runWasm(name, args, rows, chunks?)  calls exports[name](...args, rowStart, rowEnd) for every
//                          chunk of [0, rows) on all threads (default: one chunk per thread); args are
//                          numbers (byte offsets into the arena, sizes, f32 scalars). At most MAX_ARGS.
// After the arena grows, every thread refreshes its heap views before running a chunk.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker, MessageChannel, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { sharedArena } from '../tensor/arena.js';
import { JOBS, type Heap } from './jobs.js';

/** Most numeric arguments a job may take. */
export const MAX_ARGS = 30;
/** Most chunks a job may be split into (the claim word holds the index in 10 bits). */
export const MAX_CHUNKS = 1023;

// Control block: Int32 words, then Float64 arguments, then an error message (UTF-8).
const SEQ = 0; // job sequence number; workers wait on it
const CLAIM = 1; // (seq tag << 10) | next chunk index
const DONE = 2; // chunks finished
const OPC = 3; // JOBS index, or WASM
const UNITS = 4;
const CHUNKS = 5;
const NARGS = 6;
const PAGES = 7; // arena size in 64 KiB pages at job start
const FAILED = 8; // bytes of error message, 0 = ok
const ZERO = 9; // always 0: Atomics.wait on it is a sleep
const READY = 10; // workers serving
const WORKER_CHUNKS = 11; // chunks run by workers since the pool started (a diagnostic)
const ARGS_BYTE = 64;
const ERR_BYTE = ARGS_BYTE + 8 * MAX_ARGS;
const ERR_LEN = 256;
const CONTROL_BYTES = ERR_BYTE + ERR_LEN;

/** How long a thread spins on a shared word before sleeping in Atomics.wait (a wake-up measured ~30–50 µs here). */
const SPIN_MS = 0.05;

const WASM = -1;
const IDX_BITS = 10;
const IDX_MASK = (1 << IDX_BITS) - 1; // also the "closed" index while a job is being posted
const TAG_MASK = (1 << (31 - IDX_BITS)) - 1;
const PAGE = 65536;

interface WorkerInit {
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  port: MessagePort;
}

type WasmFn = (...args: number[]) => unknown;

/** One thread's side of the pool: heap views, wasm instances, and chunk execution (caller and workers alike). */
class ThreadState {
  readonly ctl: Int32Array;
  readonly args: Float64Array;
  private readonly errBytes: Uint8Array;
  private heap: Heap;
  /** Loaded wasm modules: each one's function exports, in declaration order. */
  readonly modules: { names: string[]; fns: WasmFn[] }[] = [];
  private readonly callArgs: number[][] = [];

  constructor(
    readonly memory: WebAssembly.Memory,
    control: SharedArrayBuffer,
  ) {
    this.ctl = new Int32Array(control, 0, ARGS_BYTE / 4);
    this.args = new Float64Array(control, ARGS_BYTE, MAX_ARGS);
    this.errBytes = new Uint8Array(control, ERR_BYTE, ERR_LEN);
    this.heap = this.views();
  }

  private views(): Heap {
    const buf = this.memory.buffer;
    return { f32: new Float32Array(buf), i32: new Int32Array(buf), i8: new Int8Array(buf) };
  }

  /** Claims the next chunk of job `seq`, or returns -1 when that job has none left. */
  claim(seq: number): number {
    const ctl = this.ctl;
    const tag = (seq & TAG_MASK) << IDX_BITS;
    for (;;) {
      const v = Atomics.load(ctl, CLAIM);
      if ((v & ~IDX_MASK) !== tag) return -1;
      const idx = v & IDX_MASK;
      if (idx >= Atomics.load(ctl, CHUNKS)) return -1;
      if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) === v) return idx;
    }
  }

  /** Claims and runs chunks of job `seq` until none are left. Errors are recorded, never thrown. */
  work(seq: number, port?: MessagePort): void {
    const ctl = this.ctl;
    const isWorker = port !== undefined;
    for (let idx = this.claim(seq); idx >= 0; idx = this.claim(seq)) {
      try {
        // the claim succeeded, so the job's arguments are stable until this chunk reports done
        if (this.heap.f32.buffer.byteLength !== ctl[PAGES] * PAGE) this.heap = this.views();
        const units = ctl[UNITS];
        const chunks = ctl[CHUNKS];
        const start = Math.floor((idx * units) / chunks);
        const end = Math.floor(((idx + 1) * units) / chunks);
        const op = ctl[OPC];
        if (op === WASM) this.runWasmChunk(start, end, port);
        else JOBS[op](this.heap, this.args, start, end);
      } catch (e) {
        this.fail(e);
      }
      if (isWorker) Atomics.add(ctl, WORKER_CHUNKS, 1);
      Atomics.add(ctl, DONE, 1);
      if (isWorker) Atomics.notify(ctl, DONE); // only the caller waits on DONE
    }
  }

  private runWasmChunk(start: number, end: number, port?: MessagePort): void {
    const [mod, fn] = [this.args[0], this.args[1]];
    while (port && this.modules.length <= mod) {
      const msg = receiveMessageOnPort(port);
      if (msg) this.instantiate(msg.message as WebAssembly.Module);
      else Atomics.wait(this.ctl, ZERO, 0, 1); // the module is still in flight: sleep 1 ms
    }
    const n = this.ctl[NARGS] - 2;
    const call = (this.callArgs[n] ??= new Array<number>(n + 2).fill(0));
    for (let i = 0; i < n; i++) call[i] = this.args[2 + i];
    call[n] = start;
    call[n + 1] = end;
    this.modules[mod].fns[fn].apply(undefined, call);
  }

  /** Instantiates a kernel module on this thread with the shared memory as env.memory. */
  instantiate(module: WebAssembly.Module): WebAssembly.Instance {
    const inst = new WebAssembly.Instance(module, { env: { memory: this.memory } });
    const names = WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name);
    this.modules.push({ names, fns: names.map((name) => inst.exports[name] as WasmFn) });
    return inst;
  }

  private fail(e: unknown): void {
    if (Atomics.load(this.ctl, FAILED) !== 0) return;
    const msg = new TextEncoder().encode(String(e instanceof Error ? (e.stack ?? e.message) : e)).subarray(0, ERR_LEN);
    this.errBytes.set(msg);
    Atomics.store(this.ctl, FAILED, msg.length);
  }

  /** The first error a thread recorded during the last job, or undefined. */
  error(): string | undefined {
    const n = Atomics.load(this.ctl, FAILED);
    return n === 0 ? undefined : new TextDecoder().decode(this.errBytes.slice(0, n));
  }
}

/** Worker entry point (see pool-worker.ts): serves jobs forever. */
export function serve({ memory, control, port }: WorkerInit): never {
  const state = new ThreadState(memory, control);
  const ctl = state.ctl;
  Atomics.add(ctl, READY, 1);
  let seen = 0;
  for (;;) {
    let s = Atomics.load(ctl, SEQ);
    // spin briefly before sleeping: back-to-back kernel calls post the next job within microseconds
    for (const until = performance.now() + SPIN_MS; s === seen && performance.now() < until; ) s = Atomics.load(ctl, SEQ);
    if (s === seen) {
      Atomics.wait(ctl, SEQ, s);
      continue;
    }
    seen = s;
    state.work(s, port);
  }
}

/**
 * How a worker starts. From dist/ it is pool-worker.js. From src/ (tsx, vitest) it is pool-worker.ts,
 * loaded by a small eval'd bootstrap that registers tsx's ESM hooks first (`--import tsx` in a
 * worker's execArgv does not reach the worker's own entry module).
 */
function startWorker(init: WorkerInit): Worker {
  const opts = { workerData: init, transferList: [init.port] };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./pool-worker.js', import.meta.url), opts);
  // tsx's ESM register API: its package exports point require() at a .cjs twin that fails in workers
  const api = createRequire(import.meta.url).resolve('tsx/esm/api');
  const mjs = api.replace(/\.cjs$/, '.mjs');
  const tsx = pathToFileURL(existsSync(mjs) ? mjs : api).href;
  const entry = new URL('./pool-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(code, { ...opts, eval: true });
}

export class Pool {
  private readonly state: ThreadState;
  private readonly ports: MessagePort[] = [];
  private readonly workers: Worker[] = [];
  private seq = 0;
  /** Why a worker failed to start or died, if one did (its share is then done by the others). */
  private workerError?: Error;

  /** A pool of threads-1 workers over `memory` (the caller is the remaining thread). */
  constructor(
    readonly threads: number,
    readonly memory: WebAssembly.Memory = sharedArena().memory,
  ) {
    const control = new SharedArrayBuffer(CONTROL_BYTES);
    this.state = new ThreadState(memory, control);
    for (let t = 1; t < threads; t++) {
      const { port1, port2 } = new MessageChannel();
      const w = startWorker({ memory, control, port: port2 });
      w.on('error', (e) => (this.workerError ??= e));
      w.unref();
      port1.unref();
      this.workers.push(w);
      this.ports.push(port1);
    }
  }

  /**
   * Runs pool job `op` (an index into JOBS) over `units` work units split into `chunks` ranges on all
   * threads; args are numbers (element offsets into the heap, sizes, scalars). Returns when all are done.
   */
  run(op: number, args: ArrayLike<number>, units: number, chunks = this.threads): void {
    if (args.length > MAX_ARGS) throw new RangeError(`Pool.run: at most ${MAX_ARGS} args, got ${args.length}`);
    if (units <= 0) return;
    const n = Math.max(1, Math.min(chunks, units, MAX_CHUNKS));
    const { ctl } = this.state;
    const seq = ++this.seq;
    const tag = (seq & TAG_MASK) << IDX_BITS;
    Atomics.store(ctl, CLAIM, tag | IDX_MASK); // closed: no one claims while the job is written
    ctl[OPC] = op;
    ctl[UNITS] = units;
    ctl[CHUNKS] = n;
    ctl[NARGS] = args.length;
    ctl[PAGES] = this.memory.buffer.byteLength / PAGE;
    for (let i = 0; i < args.length; i++) this.state.args[i] = args[i];
    ctl[DONE] = 0;
    ctl[FAILED] = 0;
    Atomics.store(ctl, CLAIM, tag);
    Atomics.store(ctl, SEQ, seq);
    if (this.workers.length > 0) Atomics.notify(ctl, SEQ);
    this.state.work(seq);
    let d = Atomics.load(ctl, DONE);
    for (const until = performance.now() + SPIN_MS; d !== n && performance.now() < until; ) d = Atomics.load(ctl, DONE);
    for (; d !== n; d = Atomics.load(ctl, DONE)) Atomics.wait(ctl, DONE, d);
    const err = this.state.error();
    if (err !== undefined) throw new Error(`kernel job ${op === WASM ? 'wasm' : op} failed on a pool thread: ${err}`);
  }

  /** Resolves once every worker is serving (until then the caller simply does more of the work). */
  async ready(): Promise<void> {
    while (Atomics.load(this.state.ctl, READY) < this.workers.length) {
      if (this.workerError) throw new Error(`kernel pool: a worker failed to start: ${this.workerError.message}`);
      await new Promise((r) => setTimeout(r, 2));
    }
  }

  /** Chunks run by worker threads so far (the rest ran on the caller). */
  get workerChunks(): number {
    return Atomics.load(this.state.ctl, WORKER_CHUNKS);
  }

  /** Sends `module` to every worker (instantiated there with env.memory = the pool's memory); returns the caller's instance. */
  loadWasm(module: WebAssembly.Module): WebAssembly.Instance {
    const inst = this.state.instantiate(module);
    for (const port of this.ports) port.postMessage(module);
    return inst;
  }

  /** Calls exports[name](...args, rowStart, rowEnd) over [0, rows) on all threads (the most recently loaded module exporting `name`). */
  runWasm(name: string, args: readonly number[], rows: number, chunks = this.threads): void {
    const mods = this.state.modules;
    for (let m = mods.length - 1; m >= 0; m--) {
      const fn = mods[m].names.indexOf(name);
      if (fn >= 0) return this.run(WASM, [m, fn, ...args], rows, chunks);
    }
    throw new Error(`Pool.runWasm: no loaded module exports a function '${name}'`);
  }

  /** Stops the workers; the pool must not be used afterwards. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

const pools = new Map<number, Pool>();

/** The process-wide pool with `threads` threads (caller included) over the shared arena. */
export function getPool(threads: number): Pool {
  let p = pools.get(threads);
  if (!p) {
    p = new Pool(threads);
    pools.set(threads, p);
  }
  return p;
}
