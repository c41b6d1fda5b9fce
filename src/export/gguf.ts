// GGUF, ggml's model file (version 3 as specified in ggml/docs/gguf.md; version 2 has the same layout): a
// little-endian header [magic "GGUF", version u32, tensor count u64, metadata count u64], typed metadata
// key/values, tensor infos (name, dims in ggml order = the PyTorch shape reversed, ggml type, data offset),
// zero padding to general.alignment (default 32), then the aligned tensor data. Tensor types: F32, F16, BF16 and
// Q8_0 (blocks of 32 values: an f16 scale d then 32 int8 q, x = d·q), quantized exactly as ggml's
// quantize_row_q8_0_ref. The reader bounds every count and length by the bytes left in the file.
import * as fs from 'node:fs';
import { quoteValue, UserError } from '../util/errors.js';
import { writeAtomically, type AtomicWriter } from '../util/fs.js';
import { openForRead, readExact, readFloats, writeFloats } from './binary.js';
import { f16BitsToF32, f32ToF16Bits } from './half.js';

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's GGML_MAX_DIMS. */
const MAX_DIMS = 4;
/** ggml's GGML_MAX_NAME (names are stored in a char[64] with its terminating zero). */
const MAX_TENSOR_NAME = 63;

/** The ggml tensor types tinyllm reads and writes, with their ggml_type ids. */
export const GGML_TYPES = { F32: 0, F16: 1, Q8_0: 8, BF16: 30 } as const;
export type GgmlTypeName = keyof typeof GGML_TYPES;
const TYPE_BY_ID = new Map<number, GgmlTypeName>(Object.entries(GGML_TYPES).map(([k, v]) => [v, k as GgmlTypeName]));
/** Q8_0: values per block and bytes per block (f16 scale + 32 int8). */
export const Q8_0_BLOCK = 32;
export const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK;

/** Bytes of n values of a type (n a multiple of 32 for Q8_0). */
export function ggmlTypeBytes(type: GgmlTypeName, n: number): number {
  return type === 'F32' ? 4 * n : type === 'Q8_0' ? (n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES : 2 * n;
}

/** The binary.ts dtype of an unquantized ggml type. */
function floatDtype(type: Exclude<GgmlTypeName, 'Q8_0'>): 'f32' | 'f16' | 'bf16' {
  return type === 'F32' ? 'f32' : type === 'F16' ? 'f16' : 'bf16';
}

// ---------------------------------------------------------------- metadata values
/** gguf_metadata_value_type names, index = the type id in the file. */
const VALUE_TYPES = ['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'f32', 'bool', 'string', 'array', 'u64', 'i64', 'f64'] as const;
export type GgufScalarType = Exclude<(typeof VALUE_TYPES)[number], 'array'>;
/** u64/i64 values beyond 2^53 stay bigints; every other number is a JS number. */
export type GgufScalar = number | bigint | boolean | string;
export type GgufValue = { type: GgufScalarType; value: GgufScalar } | { type: 'array'; itemType: GgufScalarType; value: GgufScalar[] };
/** Smallest encoded size of one value of each type (a string is at least its 8-byte length). */
const MIN_SIZE: Record<GgufScalarType, number> = { u8: 1, i8: 1, bool: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8, string: 8 };

export interface GgufTensorInfo {
  name: string;
  /** ggml order: dims[0] is the contiguous (innermost) dimension, i.e. the PyTorch shape reversed. */
  dims: number[];
  /** ggml_type id (a GgmlTypeName's id for the types tinyllm reads). */
  typeId: number;
  /** Byte offset relative to the start of the tensor data. */
  offset: number;
}

// ---------------------------------------------------------------- writing
class ByteBuilder {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void {
    this.put(1, (dv, at) => dv.setUint8(at, v));
  }
  u32(v: number): void {
    this.put(4, (dv, at) => dv.setUint32(at, v, true));
  }
  u64(v: number): void {
    this.put(8, (dv, at) => dv.setBigUint64(at, BigInt(v), true));
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.bytes(b);
  }
  private put(size: number, set: (dv: DataView, at: number) => void): void {
    this.reserve(size);
    set(this.dv, this.length);
    this.length += size;
  }
  scalar(type: GgufScalarType, v: GgufScalar): void {
    const n = Number(v);
    switch (type) {
      case 'string': return this.string(String(v));
      case 'bool': return this.u8(v ? 1 : 0);
      case 'u8': return this.put(1, (dv, at) => dv.setUint8(at, n));
      case 'i8': return this.put(1, (dv, at) => dv.setInt8(at, n));
      case 'u16': return this.put(2, (dv, at) => dv.setUint16(at, n, true));
      case 'i16': return this.put(2, (dv, at) => dv.setInt16(at, n, true));
      case 'u32': return this.put(4, (dv, at) => dv.setUint32(at, n, true));
      case 'i32': return this.put(4, (dv, at) => dv.setInt32(at, n, true));
      case 'f32': return this.put(4, (dv, at) => dv.setFloat32(at, n, true));
      case 'u64': return this.put(8, (dv, at) => dv.setBigUint64(at, BigInt(v), true));
      case 'i64': return this.put(8, (dv, at) => dv.setBigInt64(at, BigInt(v), true));
      case 'f64': return this.put(8, (dv, at) => dv.setFloat64(at, n, true));
    }
  }
  value(v: GgufValue): void {
    this.u32(VALUE_TYPES.indexOf(v.type));
    if (v.type !== 'array') return this.scalar(v.type, v.value);
    this.u32(VALUE_TYPES.indexOf(v.itemType));
    this.u64(v.value.length);
    for (const item of v.value) this.scalar(v.itemType, item);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

export interface GgufTensorToWrite {
  name: string;
  /** ggml order (the PyTorch shape reversed). */
  dims: number[];
  type: GgmlTypeName;
  /** Values in row-major PyTorch order (= ggml order), or a function producing them when written. */
  data: Float32Array | (() => Float32Array);
}

const alignUp = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Alignment a metadata map asks for (general.alignment), checked to be a power of two. */
function alignmentOf(metadata: ReadonlyMap<string, GgufValue>, where: string): number {
  const a = metadata.get('general.alignment');
  if (a === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const v = a.value;
  if (a.type !== 'u32' || typeof v !== 'number' || v === 0 || (v & (v - 1)) !== 0) {
    throw new UserError(`${where}: metadata general.alignment is ${quoteValue(String(v))} (${a.type}); it must be a u32 power of two such as 32`);
  }
  return v;
}

/** Header bytes (up to and including the padding before the tensor data) and each tensor's data offset. */
export function encodeGgufHeader(metadata: ReadonlyMap<string, GgufValue>, tensors: readonly Omit<GgufTensorToWrite, 'data'>[]): { header: Uint8Array; offsets: number[]; alignment: number } {
  const alignment = alignmentOf(metadata, 'writeGguf');
  const b = new ByteBuilder();
  b.u32(GGUF_MAGIC);
  b.u32(GGUF_VERSION);
  b.u64(tensors.length);
  b.u64(metadata.size);
  for (const [key, v] of metadata) {
    b.string(key);
    b.value(v);
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (Buffer.byteLength(t.name) > MAX_TENSOR_NAME) throw new Error(`writeGguf: tensor name '${t.name}' is longer than ${MAX_TENSOR_NAME} bytes`);
    if (t.dims.length < 1 || t.dims.length > MAX_DIMS) throw new Error(`writeGguf: tensor '${t.name}' has ${t.dims.length} dims (1..${MAX_DIMS})`);
    if (t.type === 'Q8_0' && t.dims[0] % Q8_0_BLOCK !== 0) throw new Error(`writeGguf: Q8_0 tensor '${t.name}' needs dims[0] (${t.dims[0]}) divisible by ${Q8_0_BLOCK}`);
    b.string(t.name);
    b.u32(t.dims.length);
    for (const d of t.dims) b.u64(d);
    b.u32(GGML_TYPES[t.type]);
    b.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + ggmlTypeBytes(t.type, t.dims.reduce((x, y) => x * y, 1)), alignment);
  }
  b.bytes(new Uint8Array(alignUp(b.length, alignment) - b.length));
  return { header: b.result(), offsets, alignment };
}

/** Q8_0 blocks of `src` (length a multiple of 32) into `out`, as ggml's quantize_row_q8_0_ref computes them in float32. */
export function quantizeQ8_0(src: Float32Array, out: Uint8Array = new Uint8Array(ggmlTypeBytes('Q8_0', src.length))): Uint8Array {
  const nb = src.length / Q8_0_BLOCK;
  if (!Number.isInteger(nb)) throw new Error(`quantizeQ8_0: ${src.length} values is not a multiple of ${Q8_0_BLOCK}`);
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  for (let b = 0; b < nb; b++) {
    const x = src.subarray(b * Q8_0_BLOCK, (b + 1) * Q8_0_BLOCK);
    let amax = 0;
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const a = Math.abs(x[j]);
      if (a > amax) amax = a;
    }
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const o = b * Q8_0_BLOCK_BYTES;
    dv.setUint16(o, f32ToF16Bits(d), true);
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const v = Math.fround(x[j] * id);
      dv.setInt8(o + 2 + j, v < 0 ? -Math.round(-v) : Math.round(v)); // roundf: halves away from zero
    }
  }
  return out;
}

/** Decodes Q8_0 blocks into out (out.length values): x = d·q in float32, as ggml's dequantize_row_q8_0. */
export function dequantizeQ8_0(src: Uint8Array, out: Float32Array): void {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  for (let b = 0; b < out.length / Q8_0_BLOCK; b++) {
    const o = b * Q8_0_BLOCK_BYTES;
    const d = f16BitsToF32(dv.getUint16(o, true));
    for (let j = 0; j < Q8_0_BLOCK; j++) out[b * Q8_0_BLOCK + j] = d * dv.getInt8(o + 2 + j);
  }
}

const CHUNK = 1 << 16; // values encoded per write (a multiple of the Q8_0 block)

function writeTensorData(w: AtomicWriter, t: GgufTensorToWrite): void {
  const data = typeof t.data === 'function' ? t.data() : t.data;
  const n = t.dims.reduce((x, y) => x * y, 1);
  if (data.length !== n) throw new Error(`writeGguf: tensor '${t.name}' has ${data.length} values, dims [${t.dims}] need ${n}`);
  if (t.type !== 'Q8_0') {
    writeFloats(w, data, floatDtype(t.type));
    return;
  }
  const q8 = new Uint8Array(ggmlTypeBytes('Q8_0', Math.min(CHUNK, n)));
  for (let i = 0; i < n; i += CHUNK) {
    const part = data.subarray(i, Math.min(n, i + CHUNK));
    w.write(quantizeQ8_0(part, q8.subarray(0, ggmlTypeBytes('Q8_0', part.length))));
  }
}

/**
 * Writes a GGUF file atomically: metadata in the given order (general.alignment, if present, sets the
 * alignment), then the tensors in order, each padded to the alignment.
 */
export function writeGguf(file: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensorToWrite[]): void {
  const { header, offsets, alignment } = encodeGgufHeader(metadata, tensors);
  writeAtomically(file, (w) => {
    w.write(header);
    const start = w.bytesWritten;
    tensors.forEach((t, i) => {
      const pad = start + offsets[i] - w.bytesWritten;
      if (pad > 0) w.write(new Uint8Array(pad));
      writeTensorData(w, t);
    });
    const end = alignUp(w.bytesWritten - start, alignment) + start;
    if (end > w.bytesWritten) w.write(new Uint8Array(end - w.bytesWritten));
  });
}

// ---------------------------------------------------------------- reading
const WINDOW = 1 << 20;

/** Sequential little-endian reads from a file through a window buffer; every read is checked against the file size. */
class Cursor {
  pos = 0;
  private buf = new Uint8Array(0);
  private dv = new DataView(this.buf.buffer);
  private bufStart = 0;

  constructor(
    private readonly fd: number,
    readonly size: number,
    private readonly file: string,
  ) {}

  get left(): number {
    return this.size - this.pos;
  }

  /** Makes bytes [pos, pos+n) available at this.at(); n is first checked against the file size. */
  private need(n: number, what: string): number {
    if (n > this.left) {
      throw new UserError(`${this.file}: file is truncated while reading ${what} (needed ${n} bytes at offset ${this.pos}, the file has ${this.left} left); re-download or re-export it`);
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufStart + this.buf.length) {
      const len = Math.min(Math.max(n, WINDOW), this.left);
      this.buf = new Uint8Array(len);
      this.dv = new DataView(this.buf.buffer);
      this.bufStart = this.pos;
      readExact(this.fd, this.buf, this.pos, this.file, what);
    }
    const at = this.pos - this.bufStart;
    this.pos += n;
    return at;
  }

  /** The window's DataView positioned at the next n bytes (taken before reading, as need() may move the window). */
  private at(n: number, what: string): [DataView, number] {
    const at = this.need(n, what);
    return [this.dv, at];
  }

  u32(what: string): number {
    const [dv, at] = this.at(4, what);
    return dv.getUint32(at, true);
  }
  /** A u64 as a number; values above 2^53 throw (no real count or size comes near). */
  u64(what: string): number {
    const [dv, at] = this.at(8, what);
    const v = dv.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new UserError(`${this.file}: ${what} is ${v}, which no file this size can hold; the file is corrupt`);
    return Number(v);
  }
  string(what: string): string {
    const len = this.u64(`the length of ${what}`);
    const at = this.need(len, what);
    return Buffer.from(this.buf.buffer, at, len).toString('utf8');
  }
  scalar(type: GgufScalarType, what: string): GgufScalar {
    if (type === 'string') return this.string(what);
    const [dv, at] = this.at(MIN_SIZE[type], what);
    switch (type) {
      case 'u8': return dv.getUint8(at);
      case 'i8': return dv.getInt8(at);
      case 'bool': {
        const b = dv.getUint8(at);
        if (b > 1) throw new UserError(`${this.file}: ${what} is a bool with byte value ${b} (must be 0 or 1); the file is corrupt`);
        return b === 1;
      }
      case 'u16': return dv.getUint16(at, true);
      case 'i16': return dv.getInt16(at, true);
      case 'u32': return dv.getUint32(at, true);
      case 'i32': return dv.getInt32(at, true);
      case 'f32': return dv.getFloat32(at, true);
      case 'f64': return dv.getFloat64(at, true);
      case 'u64':
      case 'i64': {
        const v = type === 'u64' ? dv.getBigUint64(at, true) : dv.getBigInt64(at, true);
        return v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(v) : v;
      }
    }
  }
  valueType(what: string): (typeof VALUE_TYPES)[number] {
    const id = this.u32(`the type of ${what}`);
    const t = VALUE_TYPES[id];
    if (t === undefined) throw new UserError(`${this.file}: ${what} has value type ${id}, not a GGUF type (0..${VALUE_TYPES.length - 1}); the file is corrupt`);
    return t;
  }
  value(what: string): GgufValue {
    const type = this.valueType(what);
    if (type !== 'array') return { type, value: this.scalar(type, what) };
    const itemType = this.valueType(`the items of ${what}`);
    if (itemType === 'array') throw new UserError(`${this.file}: ${what} is an array of arrays, which GGUF readers (ggml included) do not support`);
    const n = this.u64(`the length of ${what}`);
    if (n * MIN_SIZE[itemType] > this.left) {
      throw new UserError(`${this.file}: ${what} claims ${n} ${itemType} items, more than the ${this.left} bytes left in the file hold; the file is truncated or corrupt`);
    }
    const value: GgufScalar[] = new Array(n);
    for (let i = 0; i < n; i++) value[i] = this.scalar(itemType, `${what}[${i}]`);
    return { type: 'array', itemType, value };
  }
}

/** A parsed GGUF file: its metadata and tensor infos; tensors are read (and dequantized) on demand. */
export class GgufReader {
  readonly version: number;
  readonly metadata = new Map<string, GgufValue>();
  readonly tensors = new Map<string, GgufTensorInfo>();
  readonly alignment: number;
  /** File offset where the tensor data starts. */
  readonly dataOffset: number;
  readonly size: number;
  private fd: number | null;

  constructor(readonly file: string) {
    this.fd = openForRead(file);
    try {
      this.size = fs.fstatSync(this.fd).size;
      const c = new Cursor(this.fd, this.size, file);
      const magic = c.u32('the GGUF magic');
      if (magic !== GGUF_MAGIC) throw new UserError(`${file}: not a GGUF file (the first 4 bytes are not "GGUF")`);
      this.version = c.u32('the GGUF version');
      if (this.version !== 2 && this.version !== 3) {
        const swapped = ((this.version & 0xff) << 24) | ((this.version & 0xff00) << 8) | ((this.version >>> 8) & 0xff00) | (this.version >>> 24);
        throw new UserError(
          swapped === 2 || swapped === 3
            ? `${file}: a big-endian GGUF file; tinyllm reads little-endian GGUF (convert it with gguf-py's gguf_convert_endian.py)`
            : `${file}: GGUF version ${this.version} is not supported (tinyllm reads versions 2 and 3; re-export it with a current llama.cpp)`,
        );
      }
      const nTensors = c.u64('the tensor count');
      const nKV = c.u64('the metadata count');
      // a key/value takes at least 8 (key length) + 4 (type) + 1 bytes, a tensor info at least 8 + 4 + 8 + 4 + 8
      if (nKV * 13 + nTensors * 32 > c.left) {
        throw new UserError(`${file}: the header claims ${nTensors} tensors and ${nKV} metadata entries, more than the ${c.left} bytes left can hold; the file is truncated or corrupt`);
      }
      for (let i = 0; i < nKV; i++) {
        const key = c.string(`metadata key ${i}`);
        if (this.metadata.has(key)) throw new UserError(`${file}: metadata key ${quoteValue(key)} appears twice; the file is corrupt`);
        this.metadata.set(key, c.value(`metadata ${quoteValue(key)}`));
      }
      this.alignment = alignmentOf(this.metadata, file);
      for (let i = 0; i < nTensors; i++) {
        const name = c.string(`the name of tensor ${i}`);
        const what = `tensor ${quoteValue(name)}`;
        if (this.tensors.has(name)) throw new UserError(`${file}: ${what} appears twice; the file is corrupt`);
        const nDims = c.u32(`the dimension count of ${what}`);
        if (nDims < 1 || nDims > MAX_DIMS) throw new UserError(`${file}: ${what} has ${nDims} dimensions (ggml allows 1 to ${MAX_DIMS}); the file is corrupt`);
        const dims: number[] = [];
        for (let d = 0; d < nDims; d++) dims.push(c.u64(`dimension ${d} of ${what}`));
        const typeId = c.u32(`the type of ${what}`);
        const offset = c.u64(`the data offset of ${what}`);
        if (offset % this.alignment !== 0) throw new UserError(`${file}: ${what} starts at data offset ${offset}, not a multiple of the alignment ${this.alignment}; the file is corrupt`);
        this.tensors.set(name, { name, dims, typeId, offset });
      }
      this.dataOffset = alignUp(c.pos, this.alignment);
      for (const t of this.tensors.values()) {
        const type = TYPE_BY_ID.get(t.typeId);
        if (!type) continue; // checked when (if) the tensor is read
        const n = t.dims.reduce((x, y) => x * y, 1);
        if (type === 'Q8_0' && t.dims[0] % Q8_0_BLOCK !== 0) throw new UserError(`${file}: Q8_0 tensor ${quoteValue(t.name)} has dims[0] = ${t.dims[0]}, not a multiple of ${Q8_0_BLOCK}; the file is corrupt`);
        const end = this.dataOffset + t.offset + ggmlTypeBytes(type, n);
        if (!(end <= this.size)) {
          throw new UserError(`${file}: tensor ${quoteValue(t.name)} (${type} [${t.dims}]) ends at byte ${end}, past the end of the ${this.size}-byte file; the file is truncated`);
        }
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** Type name of a tensor, or a UserError naming the unsupported ggml type. */
  typeOf(name: string): GgmlTypeName {
    const t = this.info(name);
    const type = TYPE_BY_ID.get(t.typeId);
    if (!type) throw new UserError(`${this.file}: tensor ${quoteValue(name)} has ggml type ${t.typeId}; tinyllm reads F32, F16, BF16 and Q8_0 GGUF files (re-export with llama.cpp's convert_hf_to_gguf.py --outtype f16 or q8_0)`);
    return type;
  }

  info(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new UserError(`${this.file}: tensor '${name}' is missing`);
    return t;
  }

  /** Reads a tensor as float32 (dequantized), into `out` if given. */
  readFloat32(name: string, out?: Float32Array): Float32Array {
    if (this.fd === null) throw new Error(`GgufReader(${this.file}): read after close`);
    const t = this.info(name);
    const type = this.typeOf(name);
    const n = t.dims.reduce((x, y) => x * y, 1);
    const dst = out ?? new Float32Array(n);
    if (dst.length !== n) throw new Error(`GgufReader.readFloat32: '${name}' has ${n} values, the destination ${dst.length}`);
    const pos = this.dataOffset + t.offset;
    if (type !== 'Q8_0') {
      readFloats(this.fd, pos, dst, floatDtype(type), this.file, `tensor '${name}'`);
      return dst;
    }
    const blocksPerChunk = 1 << 12;
    const scratch = new Uint8Array(Math.min(blocksPerChunk, n / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES);
    for (let i = 0; i < n; i += blocksPerChunk * Q8_0_BLOCK) {
      const m = Math.min(blocksPerChunk * Q8_0_BLOCK, n - i);
      const bytes = scratch.subarray(0, ggmlTypeBytes('Q8_0', m));
      readExact(this.fd, bytes, pos + ggmlTypeBytes('Q8_0', i), this.file, `tensor '${name}'`);
      dequantizeQ8_0(bytes, dst.subarray(i, i + m));
    }
    return dst;
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
