// Arena: tensor storage carved out of one WebAssembly.Memory (shared when the platform allows), so the
// plain-TypeScript kernels, the WebAssembly kernels and the worker threads all see the same bytes
// with zero copies. A bump allocator with mark/release, like llm.c's single malloc of all parameters.

export type ArenaDType = 'f32' | 'f64' | 'i32' | 'u32' | 'u16' | 'i16' | 'i8' | 'u8';
type ArrayFor<D extends ArenaDType> = D extends 'f32'
  ? Float32Array
  : D extends 'f64'
    ? Float64Array
    : D extends 'i32'
      ? Int32Array
      : D extends 'u32'
        ? Uint32Array
        : D extends 'u16'
          ? Uint16Array
          : D extends 'i16'
            ? Int16Array
            : D extends 'i8'
            ? Int8Array
            : Uint8Array;

const CTORS = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
  u16: Uint16Array,
  i16: Int16Array,
  i8: Int8Array,
  u8: Uint8Array,
} as const;

const PAGE = 65536;
/** Every allocation starts on a 64-byte boundary (a cache line; SIMD-friendly). */
export const ARENA_ALIGN = 64;

export interface ArenaOptions {
  /** Initial size in bytes (rounded up to 64 KiB pages). */
  initialBytes?: number;
  /** Largest size in bytes the arena may grow to; default 4 GiB (the wasm32 limit). */
  maxBytes?: number;
  /** Back it with a shared memory so worker threads can use it (default: true when SharedArrayBuffer exists). */
  shared?: boolean;
}

export class Arena {
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** Largest size in bytes the arena can grow to: 4 GiB (wasm32 addresses are 32-bit), less if asked or if the platform reserved less. */
  readonly limit: number;
  /** First byte not yet handed out. Offset 0..63 is kept free so no view has byteOffset 0 (a null pointer in wasm). */
  private top = ARENA_ALIGN;
  private readonly buffers = new Set<ArrayBufferLike>();

  constructor(opts: ArenaOptions = {}) {
    const maxPages = Math.min(65536, Math.ceil((opts.maxBytes ?? 4 * 1024 ** 3) / PAGE));
    const initial = Math.min(maxPages, Math.max(1, Math.ceil((opts.initialBytes ?? 16 * PAGE) / PAGE)));
    const wantShared = opts.shared ?? typeof SharedArrayBuffer !== 'undefined';
    let memory: WebAssembly.Memory | undefined;
    let limitPages = maxPages;
    if (wantShared) {
      // Some 32-bit devices cannot reserve 4 GiB of address space: fall back to smaller maxima.
      for (let pages = maxPages; pages >= 256 && !memory; pages >>= 1) {
        try {
          memory = new WebAssembly.Memory({ initial: Math.min(initial, pages), maximum: pages, shared: true });
          limitPages = pages;
        } catch {
          /* try a smaller reservation */
        }
      }
    }
    this.shared = memory !== undefined;
    this.memory = memory ?? new WebAssembly.Memory({ initial, maximum: maxPages });
    this.limit = limitPages * PAGE;
    this.buffers.add(this.memory.buffer);
  }

  /** Bytes handed out so far. */
  get used(): number {
    return this.top;
  }

  /** Current size of the underlying memory in bytes. */
  get capacity(): number {
    return this.memory.buffer.byteLength;
  }

  /**
   * A view of n elements of the given type, 64-byte aligned; zero-filled unless `zero: false` (for scratch
   * the caller overwrites at once: released memory keeps its old bytes).
   */
  alloc<D extends ArenaDType>(dtype: D, n: number, opts?: { zero?: boolean }): ArrayFor<D> {
    const C = CTORS[dtype];
    const bytes = n * C.BYTES_PER_ELEMENT;
    const start = Math.ceil(this.top / ARENA_ALIGN) * ARENA_ALIGN;
    const end = start + bytes;
    if (end > this.memory.buffer.byteLength) {
      const need = Math.ceil((end - this.memory.buffer.byteLength) / PAGE);
      try {
        this.memory.grow(need);
      } catch {
        throw new RangeError(
          `Arena: cannot grow to ${(end / 1024 ** 2).toFixed(0)} MiB (limit ${(this.limit / 1024 ** 2).toFixed(0)} MiB); use a smaller model or batch`,
        );
      }
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    const view = new C(this.memory.buffer, start, n) as ArrayFor<D>;
    if (opts?.zero ?? true) view.fill(0 as never);
    return view;
  }

  f32(n: number): Float32Array {
    return this.alloc('f32', n);
  }

  i32(n: number): Int32Array {
    return this.alloc('i32', n);
  }

  /** A position to return to with release(); everything allocated after it is freed at once. */
  mark(): number {
    return this.top;
  }

  release(mark: number): void {
    if (mark < ARENA_ALIGN || mark > this.top) throw new RangeError(`Arena.release: bad mark ${mark}`);
    this.top = mark;
  }

  /** True when `view` lies inside this arena's memory (so wasm kernels and workers can use it in place). */
  contains(view: ArrayBufferView): boolean {
    if (this.buffers.has(view.buffer)) return true;
    // the getter of a shared memory's buffer may hand out a new SharedArrayBuffer object for the same memory
    if (view.buffer !== this.memory.buffer) return false;
    this.buffers.add(view.buffer);
    return true;
  }
}

let defaultArena: Arena | undefined;

/** The process-wide arena that models, the worker pool and the WebAssembly kernels share. */
export function sharedArena(): Arena {
  defaultArena ??= new Arena();
  return defaultArena;
}
