// The kernel registry: named tiers ('ref' oracle, 'js' fast threaded loops, 'wasm' once registered),
// the process-wide default (best available tier on all cores; env TINYLLM_KERNELS / TINYLLM_THREADS
// override it) and the public kernel API. Ops call getKernels() and never pick a tier themselves,
// as tfjs-core's ops ask the active backend.
import * as os from 'node:os';
import { UserError } from '../util/errors.js';
import { createJsKernels } from './js.js';
import { createWasmKernels, wasmTierAvailable } from './wasm/index.js';
import { ref } from './ref.js';
import type { Kernels } from './types.js';

export type { Kernels, FloatArray, Int8Kernels } from './types.js';
export { ref } from './ref.js';
export { Pool, getPool, MAX_ARGS, MAX_CHUNKS } from './pool.js';
export { createJsKernels, type JsKernelOptions } from './js.js';

/** A kernel tier the registry can instantiate. */
export interface KernelTier {
  readonly name: string;
  /** Higher ranks are preferred for the process default (ref 0, js 1, wasm 2). */
  readonly rank: number;
  /** False when this platform cannot run the tier (e.g. no WebAssembly SIMD). */
  available(): boolean;
  /** A kernel set splitting work across `threads` threads (the caller included). */
  create(threads: number): Kernels;
}

export type TierName = 'ref' | 'js' | 'wasm' | (string & {});

export interface KernelOptions {
  /** Threads to split large kernels across, caller included; default: TINYLLM_THREADS or all cores. */
  threads?: number;
}

const tiers = new Map<string, KernelTier>();
const instances = new Map<string, Kernels>();
let current: Kernels | undefined;

/** Adds (or replaces) a tier. */
export function registerTier(tier: KernelTier): void {
  tiers.set(tier.name, tier);
  for (const key of instances.keys()) if (key.startsWith(`${tier.name}:`)) instances.delete(key);
}

// ── Tier registrations, lowest rank first. The wasm tier adds its one line below this marker. ──
registerTier({ name: 'ref', rank: 0, available: () => true, create: () => ref });
registerTier({ name: 'js', rank: 1, available: () => true, create: createJsKernels });
registerTier({ name: 'wasm', rank: 2, available: wasmTierAvailable, create: (threads) => createWasmKernels({ threads }) });
// ── end of tier registrations ──

/** Names of the tiers this platform can run, from the oracle ('ref') to the fastest. */
export function availableTiers(): string[] {
  return [...tiers.values()]
    .filter((t) => t.available())
    .sort((a, b) => a.rank - b.rank)
    .map((t) => t.name);
}

/** All cores, or TINYLLM_THREADS when set. */
export function defaultThreads(): number {
  const env = process.env.TINYLLM_THREADS;
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) {
      throw new UserError(`TINYLLM_THREADS=${env} is not a positive integer; set it to e.g. 1 or 4, or unset it`);
    }
    return n;
  }
  // os.availableParallelism appeared in Node 18.14; older 18.x only has cpus()
  return os.availableParallelism?.() ?? Math.max(1, os.cpus().length);
}

/** A kernel set of the given tier (instances are cached per tier and thread count). */
export function createKernels(tier: TierName, opts: KernelOptions = {}): Kernels {
  const spec = tiers.get(tier);
  if (!spec) {
    throw new UserError(`unknown kernel tier '${tier}'; choose one of: ${[...tiers.keys()].join(', ')}`);
  }
  if (!spec.available()) {
    throw new UserError(`kernel tier '${tier}' is not supported on this platform; available: ${availableTiers().join(', ')}`);
  }
  const threads = opts.threads ?? defaultThreads();
  if (!Number.isInteger(threads) || threads < 1) throw new UserError(`threads must be a positive integer, got ${threads}`);
  const key = `${tier}:${threads}`;
  let k = instances.get(key);
  if (!k) {
    k = spec.create(threads);
    instances.set(key, k);
  }
  return k;
}

/** The process-wide kernels: TINYLLM_KERNELS or the best available tier, created on first use. */
export function getKernels(): Kernels {
  if (!current) {
    const env = process.env.TINYLLM_KERNELS;
    const names = availableTiers();
    if (env !== undefined && env !== '' && !names.includes(env)) {
      throw new UserError(`TINYLLM_KERNELS=${env} is not a kernel tier available here; use one of ${names.join(', ')}, or unset it`);
    }
    current = createKernels(env || names[names.length - 1]);
  }
  return current;
}

/** Replaces the process-wide kernels by a tier name or a ready kernel set; returns the new set. */
export function setKernels(tierOrKernels: TierName | Kernels, opts: KernelOptions = {}): Kernels {
  current = typeof tierOrKernels === 'string' ? createKernels(tierOrKernels, opts) : tierOrKernels;
  return current;
}
