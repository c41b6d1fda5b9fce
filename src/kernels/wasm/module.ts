// The kernel module: every WebAssembly kernel of the 'wasm' tier assembled into one module that imports
// the arena's memory as env.memory (a shared memory when threads are used). Built and validated once
// per process per memory kind; the compiled WebAssembly.Module is what worker threads instantiate.
import { addAttention, type AttentionExport } from './attention.js';
import { ModuleBuilder } from './emitter.js';
import { addElementwiseKernels, type ElementwiseExport } from './elementwise.js';
import { addLayernorm, type LayernormExport } from './layernorm.js';
import { addMatmul } from './matmul.js';
import { addMatmulInt8, addMatvec, addQuantizeI16 } from './matvec.js';

/** Exports of the kernel module; each takes (threads, t0, t1) last and does threads t0..t1-1's share. */
export type KernelExport = 'matmul' | 'matvec' | 'matmulInt8' | 'quantizeI16' | ElementwiseExport | AttentionExport | LayernormExport;

export interface KernelModuleOptions {
  /** Import a shared memory (required to run on worker threads). */
  shared: boolean;
  /** Use relaxed-SIMD fused multiply-add in the matmul micro-kernel. */
  relaxed: boolean;
}

/** The module's bytes (exposed for tests and for inspecting the generated code). */
export function kernelModuleBytes(opts: KernelModuleOptions): Uint8Array<ArrayBuffer> {
  return kernelModuleBuilder(opts).build();
}

const cache = new Map<string, WebAssembly.Module>();

/** The compiled kernel module (cached). */
export function kernelModule(opts: KernelModuleOptions): WebAssembly.Module {
  const key = `${opts.shared}:${opts.relaxed}`;
  let mod = cache.get(key);
  if (!mod) {
    mod = kernelModuleBuilder(opts).compile();
    cache.set(key, mod);
  }
  return mod;
}

function kernelModuleBuilder(opts: KernelModuleOptions): ModuleBuilder {
  const m = new ModuleBuilder();
  // 65536 pages = 4 GiB, the wasm32 limit: any arena memory satisfies this import
  m.importMemory({ module: 'env', name: 'memory', min: 1, max: opts.shared ? 65536 : undefined, shared: opts.shared });
  addMatmul(m, opts.relaxed);
  addMatvec(m);
  addMatmulInt8(m);
  addQuantizeI16(m);
  addElementwiseKernels(m);
  addAttention(m);
  addLayernorm(m);
  return m;
}
