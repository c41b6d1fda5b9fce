// A small typed WebAssembly emitter: kernels are written as TypeScript that builds expression trees
// (`f32x4.add(acc, f32x4.mul(a, b))`) and structured control flow, and this file encodes them into a
// binary module (LEB128, sections, SIMD prefix ops) following the WebAssembly core spec 2.0 §5.
// No external toolchain and no binary blobs: every module in tinyllm-ts is built here at start-up.

export type ValType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
/** Expressions of type 'none' are statements (stores, sets): they leave nothing on the stack. */
export type ExprType = ValType | 'none';

const VALTYPE: Record<ValType, number> = { i32: 0x7f, i64: 0x7e, f32: 0x7d, f64: 0x7c, v128: 0x7b };

// ---- LEB128 and other encodings (spec §5.2) ----

/** Unsigned LEB128 of a non-negative integer below 2^32. */
export function uleb(n: number): number[] {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new RangeError(`uleb: ${n} is not a u32`);
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of an integer in [-2^31, 2^32) (values ≥ 2^31 are taken as their int32 bit pattern). */
export function sleb(n: number): number[] {
  if (!Number.isInteger(n) || n < -0x80000000 || n > 0xffffffff) throw new RangeError(`sleb: ${n} is not an i32`);
  let v = n | 0;
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function utf8Name(s: string): number[] {
  const bytes = [...new TextEncoder().encode(s)];
  return [...uleb(bytes.length), ...bytes];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function f32Bytes(x: number): number[] {
  return [...new Uint8Array(new Float32Array([x]).buffer)];
}

// ---- Expressions ----

/** A typed piece of code that pushes one value of type T (or nothing, for 'none'). */
export interface Expr<T extends ExprType = ExprType> {
  readonly type: T;
  emit(code: number[]): void;
}
export type I32 = Expr<'i32'> | number;
export type F32 = Expr<'f32'>;
export type V128 = Expr<'v128'>;
export type Stmt = Expr<'none'>;

/** A local variable or parameter; reading it as an expression emits local.get. */
export class Local<T extends ValType = ValType> implements Expr<T> {
  constructor(
    readonly type: T,
    readonly index: number,
  ) {}
  emit(code: number[]): void {
    code.push(0x20, ...uleb(this.index));
  }
}

function lift(x: I32 | Expr): Expr {
  return typeof x === 'number' ? i32.const(x) : x;
}

function check(e: Expr, want: ExprType, what: string): void {
  if (e.type !== want) throw new TypeError(`${what}: operand is ${e.type}, expected ${want}`);
}

/** An instruction applied to operands: emits operands left to right, then the opcode bytes. */
function op<T extends ExprType>(type: T, bytes: number[], operands: Expr[] = []): Expr<T> {
  return {
    type,
    emit(code) {
      for (const o of operands) o.emit(code);
      code.push(...bytes);
    },
  };
}

const SIMD = 0xfd;
const simd = (n: number): number[] => [SIMD, ...uleb(n)];
const memarg = (alignLog2: number, offset: number): number[] => [...uleb(alignLog2), ...uleb(offset)];

function unary<T extends ValType>(t: T, bytes: number[]) {
  return (a: T extends 'i32' ? I32 : Expr<T>): Expr<T> => {
    const x = lift(a);
    check(x, t, 'unary op');
    return op(t, bytes, [x]);
  };
}

function binary<T extends ValType, R extends ValType = T>(t: T, bytes: number[], r?: R) {
  return (a: T extends 'i32' ? I32 : Expr<T>, b: T extends 'i32' ? I32 : Expr<T>): Expr<R> => {
    const x = lift(a);
    const y = lift(b);
    check(x, t, 'binary op');
    check(y, t, 'binary op');
    return op((r ?? t) as R, bytes, [x, y]);
  };
}

function load<T extends ValType>(t: T, bytes: number[], alignLog2: number) {
  return (addr: I32, offset = 0): Expr<T> => op(t, [...bytes, ...memarg(alignLog2, offset)], [lift(addr)]);
}

function store<T extends ValType>(t: T, bytes: number[], alignLog2: number) {
  return (addr: I32, value: T extends 'i32' ? I32 : Expr<T>, offset = 0): Stmt => {
    const v = lift(value);
    check(v, t, 'store');
    return op('none', [...bytes, ...memarg(alignLog2, offset)], [lift(addr), v]);
  };
}

/** i32 instructions (spec §5.4.7). Plain numbers stand for i32.const. */
export const i32 = {
  const: (n: number): Expr<'i32'> => op('i32', [0x41, ...sleb(n)]),
  load: load('i32', [0x28], 2),
  load8_s: load('i32', [0x2c], 0),
  load8_u: load('i32', [0x2d], 0),
  load16_s: load('i32', [0x2e], 1),
  store: store('i32', [0x36], 2),
  store8: store('i32', [0x3a], 0),
  store16: store('i32', [0x3b], 1),
  eqz: unary('i32', [0x45]),
  eq: binary('i32', [0x46]),
  ne: binary('i32', [0x47]),
  lt_s: binary('i32', [0x48]),
  lt_u: binary('i32', [0x49]),
  gt_s: binary('i32', [0x4a]),
  le_s: binary('i32', [0x4c]),
  ge_s: binary('i32', [0x4e]),
  add: binary('i32', [0x6a]),
  sub: binary('i32', [0x6b]),
  mul: binary('i32', [0x6c]),
  div_s: binary('i32', [0x6d]),
  rem_s: binary('i32', [0x6f]),
  and: binary('i32', [0x71]),
  or: binary('i32', [0x72]),
  shl: binary('i32', [0x74]),
  shr_s: binary('i32', [0x75]),
  shr_u: binary('i32', [0x76]),
  /** Minimum of two signed values (a select; no branch). */
  min_s: (a: I32, b: I32): Expr<'i32'> => select(a, b, i32.lt_s(a, b)),
  trunc_f32_s: (a: F32): Expr<'i32'> => op('i32', [0xa8], [a]),
  /** Truncation that saturates instead of trapping (NaN → 0). */
  trunc_sat_f32_s: (a: F32): Expr<'i32'> => op('i32', [0xfc, 0x00], [a]),
  reinterpret_f32: (a: F32): Expr<'i32'> => op('i32', [0xbc], [a]),
};

/** f32 instructions. */
export const f32 = {
  const: (x: number): F32 => op('f32', [0x43, ...f32Bytes(x)]),
  load: load('f32', [0x2a], 2),
  store: store('f32', [0x38], 2),
  eq: binary('f32', [0x5b], 'i32'),
  lt: binary('f32', [0x5d], 'i32'),
  gt: binary('f32', [0x5e], 'i32'),
  abs: unary('f32', [0x8b]),
  neg: unary('f32', [0x8c]),
  nearest: unary('f32', [0x90]),
  sqrt: unary('f32', [0x91]),
  add: binary('f32', [0x92]),
  sub: binary('f32', [0x93]),
  mul: binary('f32', [0x94]),
  div: binary('f32', [0x95]),
  min: binary('f32', [0x96]),
  max: binary('f32', [0x97]),
  convert_i32_s: (a: I32): F32 => op('f32', [0xb2], [lift(a)]),
  reinterpret_i32: (a: I32): F32 => op('f32', [0xbe], [lift(a)]),
};

/** v128 memory and bitwise instructions (SIMD proposal, now core spec 2.0). */
export const v128 = {
  const: (bytes: ArrayLike<number>): V128 => {
    if (bytes.length !== 16) throw new RangeError('v128.const needs 16 bytes');
    return op('v128', [...simd(0x0c), ...Array.from(bytes, (b) => b & 0xff)]);
  },
  load: load('v128', simd(0x00), 4),
  /** Loads 8 bytes and sign-extends each to a 16-bit lane (i8 → i16x8). */
  load8x8_s: load('v128', simd(0x01), 3),
  /** Loads one 32-bit value and splats it to all four lanes. */
  load32_splat: load('v128', simd(0x09), 2),
  store: store('v128', simd(0x0b), 4),
  and: binary('v128', simd(0x4e)),
  or: binary('v128', simd(0x50)),
  xor: binary('v128', simd(0x51)),
  bitselect: (a: V128, b: V128, mask: V128): V128 => op('v128', simd(0x52), [a, b, mask]),
};

function lane<T extends ValType>(t: T, code: number) {
  return (v: V128, laneIdx: number): Expr<T> => op(t, [...simd(code), laneIdx], [v]);
}

/** f32x4 lane-wise instructions. */
export const f32x4 = {
  splat: (x: F32): V128 => op('v128', simd(0x13), [x]),
  extract_lane: lane('f32', 0x1f),
  eq: binary('v128', simd(0x41)),
  lt: binary('v128', simd(0x43)),
  gt: binary('v128', simd(0x44)),
  abs: unary('v128', simd(0xe0)),
  neg: unary('v128', simd(0xe1)),
  sqrt: unary('v128', simd(0xe3)),
  add: binary('v128', simd(0xe4)),
  sub: binary('v128', simd(0xe5)),
  mul: binary('v128', simd(0xe6)),
  div: binary('v128', simd(0xe7)),
  min: binary('v128', simd(0xe8)),
  max: binary('v128', simd(0xe9)),
  nearest: unary('v128', simd(0x6a)),
  /** Lanes [i0..i3] of the 8 lanes of (a, b) (0–3 from a, 4–7 from b): i8x16.shuffle on whole f32 lanes. */
  shuffle: (a: V128, b: V128, lanes: [number, number, number, number]): V128 =>
    op('v128', [...simd(0x0d), ...lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3])], [a, b]),
  convert_i32x4_s: unary('v128', simd(0xfa)),
  /** Relaxed SIMD fused (or not) multiply-add a·b + c; only where relaxedSimdSupported(). */
  relaxed_madd: (a: V128, b: V128, c: V128): V128 => op('v128', simd(0x105), [a, b, c]),
};

/** Integer lane-wise instructions used by the int8 kernels. */
export const i16x8 = {
  /** Lanes of a then b, each i32 saturated to i16. */
  narrow_i32x4_s: binary('v128', simd(0x85)),
};

export const i32x4 = {
  splat: (x: I32): V128 => op('v128', simd(0x11), [lift(x)]),
  extend_low_i16x8_s: unary('v128', simd(0xa7)),
  extend_high_i16x8_s: unary('v128', simd(0xa8)),
  shl: (v: V128, by: I32): V128 => op('v128', simd(0xab), [v, lift(by)]),
  add: binary('v128', simd(0xae)),
  /** Lane i = a[2i]·b[2i] + a[2i+1]·b[2i+1] over signed 16-bit lanes, as i32. */
  dot_i16x8_s: binary('v128', simd(0xba)),
  trunc_sat_f32x4_s: unary('v128', simd(0xf8)),
};

/** select(a, b, cond) = cond ? a : b, both sides evaluated. */
export function select<T extends ValType>(a: T extends 'i32' ? I32 : Expr<T>, b: T extends 'i32' ? I32 : Expr<T>, cond: I32): Expr<T> {
  const x = lift(a);
  const y = lift(b);
  if (x.type !== y.type) throw new TypeError(`select: ${x.type} vs ${y.type}`);
  return op(x.type as T, [0x1b], [x, y, lift(cond)]);
}

// ---- Functions and structured control flow ----

/** A branch target: br(label) jumps to the end of a block or the start of a loop. */
export interface Label {
  readonly depth: number;
}

export interface FuncRef<R extends ValType | 'none' = ValType | 'none'> {
  readonly index: number;
  readonly result: R;
  readonly params: readonly ValType[];
}

/** Builds one function body statement by statement. */
export class FuncBuilder {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];
  private depth = 0;

  constructor(private readonly nParams: number) {}

  /** A new local variable (zero-initialised, as wasm guarantees). */
  local<T extends ValType>(type: T): Local<T> {
    this.localTypes.push(type);
    return new Local(type, this.nParams + this.localTypes.length - 1);
  }

  /** Emits expressions as statements; values left on the stack are dropped. */
  emit(...items: Expr[]): void {
    for (const e of items) {
      e.emit(this.code);
      if (e.type !== 'none') this.code.push(0x1a);
    }
  }

  set<T extends ValType>(l: Local<T>, value: T extends 'i32' ? I32 : Expr<T>): void {
    const v = lift(value);
    check(v, l.type, 'local.set');
    v.emit(this.code);
    this.code.push(0x21, ...uleb(l.index));
  }

  /** l += by (i32 locals). */
  inc(l: Local<'i32'>, by: I32 = 1): void {
    this.set(l, i32.add(l, by));
  }

  block(body: (exit: Label) => void): void {
    this.code.push(0x02, 0x40);
    this.nested(body);
  }

  loop(body: (again: Label) => void): void {
    this.code.push(0x03, 0x40);
    this.nested(body);
  }

  if(cond: I32, then: () => void, otherwise?: () => void): void {
    lift(cond).emit(this.code);
    this.code.push(0x04, 0x40);
    this.depth++;
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.depth--;
    this.code.push(0x0b);
  }

  br(label: Label): void {
    this.code.push(0x0c, ...uleb(this.depth - label.depth));
  }

  brIf(label: Label, cond: I32): void {
    lift(cond).emit(this.code);
    this.code.push(0x0d, ...uleb(this.depth - label.depth));
  }

  /** for (i = start; i < end; i += step) body(). Bounds are re-evaluated each trip, so pass locals or constants. */
  for(i: Local<'i32'>, start: I32, end: I32, step: I32, body: () => void): void {
    this.set(i, start);
    this.block((exit) => {
      this.loop((again) => {
        this.brIf(exit, i32.ge_s(i, end));
        body();
        this.inc(i, step);
        this.br(again);
      });
    });
  }

  return(value?: Expr): void {
    value?.emit(this.code);
    this.code.push(0x0f);
  }

  call<R extends ValType | 'none'>(fn: FuncRef<R>, ...args: (I32 | Expr)[]): Expr<R> {
    if (args.length !== fn.params.length) throw new TypeError(`call: ${args.length} args for ${fn.params.length} params`);
    const ops = args.map((a, k) => {
      const e = lift(a);
      check(e, fn.params[k], `call arg ${k}`);
      return e;
    });
    return op(fn.result, [0x10, ...uleb(fn.index)], ops);
  }

  /** The encoded body: local declarations (run-length grouped), code, end. */
  encode(): number[] {
    const groups: number[][] = [];
    for (let k = 0; k < this.localTypes.length; ) {
      let n = 1;
      while (k + n < this.localTypes.length && this.localTypes[k + n] === this.localTypes[k]) n++;
      groups.push([...uleb(n), VALTYPE[this.localTypes[k]]]);
      k += n;
    }
    const body = [...vec(groups), ...this.code, 0x0b];
    return [...uleb(body.length), ...body];
  }

  private nested(body: (label: Label) => void): void {
    this.depth++;
    body({ depth: this.depth });
    this.depth--;
    this.code.push(0x0b);
  }
}

export interface MemoryImport {
  module: string;
  name: string;
  /** Minimum size in 64 KiB pages. */
  min: number;
  /** Maximum size in pages (required when shared). */
  max?: number;
  shared?: boolean;
}

export type ParamLocals<P extends Record<string, ValType>> = { [K in keyof P]: Local<P[K]> };

/** Builds a module: one imported memory, functions with named params, exports. */
export class ModuleBuilder {
  private readonly types: number[][] = [];
  private readonly funcTypes: number[] = [];
  private readonly bodies: FuncBuilder[] = [];
  private readonly exports: number[][] = [];
  private memory?: MemoryImport;

  importMemory(mem: MemoryImport): this {
    if (mem.shared && mem.max === undefined) throw new Error('importMemory: a shared memory needs a maximum');
    this.memory = mem;
    return this;
  }

  /**
   * Adds a function. `params` names the parameters in order; `body` receives the builder and the
   * parameters as locals. Exported under `name` unless `exported` is false.
   */
  func<P extends Record<string, ValType>, R extends ValType | 'none' = 'none'>(
    name: string,
    params: P,
    result: R,
    body: (f: FuncBuilder, p: ParamLocals<P>) => void,
    exported = true,
  ): FuncRef<R> {
    const names = Object.keys(params);
    const ptypes = names.map((k) => params[k]);
    const sig = [0x60, ...vec(ptypes.map((t) => [VALTYPE[t]])), ...(result === 'none' ? [0x00] : [0x01, VALTYPE[result as ValType]])];
    let typeIdx = this.types.findIndex((t) => t.length === sig.length && t.every((b, k) => b === sig[k]));
    if (typeIdx < 0) typeIdx = this.types.push(sig) - 1;
    const index = this.funcTypes.push(typeIdx) - 1;
    const ref: FuncRef<R> = { index, result, params: ptypes };
    const f = new FuncBuilder(ptypes.length);
    const locals = Object.fromEntries(names.map((k, i) => [k, new Local(params[k], i)])) as ParamLocals<P>;
    this.bodies.push(f);
    body(f, locals);
    if (exported) this.exports.push([...utf8Name(name), 0x00, ...uleb(index)]);
    return ref;
  }

  /** The binary module (magic, version, type/import/function/export/code sections). */
  build(): Uint8Array<ArrayBuffer> {
    const section = (id: number, content: number[]): number[] => [id, ...uleb(content.length), ...content];
    const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
    out.push(...section(1, vec(this.types)));
    if (this.memory) {
      const m = this.memory;
      const limits =
        m.max === undefined ? [0x00, ...uleb(m.min)] : [m.shared ? 0x03 : 0x01, ...uleb(m.min), ...uleb(m.max)];
      out.push(...section(2, vec([[...utf8Name(m.module), ...utf8Name(m.name), 0x02, ...limits]])));
    }
    out.push(...section(3, vec(this.funcTypes.map((t) => uleb(t)))));
    out.push(...section(7, vec(this.exports)));
    out.push(...section(10, vec(this.bodies.map((b) => b.encode()))));
    return new Uint8Array(out);
  }

  /** Builds, validates and compiles; a validation failure is an emitter or kernel bug. */
  compile(): WebAssembly.Module {
    const bytes = this.build();
    if (!WebAssembly.validate(bytes)) {
      // Compiling gives the engine's message with the failing function and byte offset.
      new WebAssembly.Module(bytes);
      throw new Error('ModuleBuilder: module failed validation');
    }
    return new WebAssembly.Module(bytes);
  }
}

function tinyModuleValidates(body: (f: FuncBuilder) => void): boolean {
  try {
    const m = new ModuleBuilder();
    m.func('probe', {}, 'none', body);
    return WebAssembly.validate(m.build());
  } catch {
    return false;
  }
}

/** True when the engine accepts 128-bit SIMD (Node 16.4+ on x86-64 and ARM64). */
export function simdSupported(): boolean {
  return tinyModuleValidates((f) => f.emit(f32x4.add(f32x4.splat(f32.const(1)), f32x4.splat(f32.const(2)))));
}

/** True when the engine accepts relaxed SIMD (fused multiply-add); Node 22+ without flags. */
export function relaxedSimdSupported(): boolean {
  return tinyModuleValidates((f) => {
    const one = f32x4.splat(f32.const(1));
    f.emit(f32x4.relaxed_madd(one, one, one));
  });
}
