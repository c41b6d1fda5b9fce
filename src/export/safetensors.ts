// Hugging Face safetensors files (github.com/huggingface/safetensors, README "Format"): an 8-byte
// little-endian u64 N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__": {str: str}}, then the byte buffer the offsets point into. Reading validates like the
// reference Rust crate (offsets contiguous from 0, covering the buffer exactly, sizes = shape × dtype);
// writing reproduces its serializer byte for byte (order, compact JSON, space padding to 8 bytes).
import * as fs from 'node:fs';
import { clip, oneLine, quoteValue, UserError } from '../util/errors.js';
import { openForRead, readExact, readFloats, writeFloats, type ReadableDtype, type WeightDtype } from './binary.js';
import { writeAtomically } from '../util/fs.js';

/** Element sizes of the byte-sized safetensors dtypes (sub-byte F4/F6 types are not supported). */
export const SAFETENSORS_DTYPES = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, F8_E8M0: 1,
  I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
} as const;
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPES;

/** Serializer order of the reference crate's Dtype enum (larger alignment first when writing). */
const DTYPE_RANK: SafetensorsDtype[] = ['BOOL', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'F64', 'I64', 'U64'];

const FLOAT_DTYPES: Partial<Record<SafetensorsDtype, ReadableDtype>> = { F32: 'f32', F16: 'f16', BF16: 'bf16', F64: 'f64' };
const STORE_DTYPES: Record<WeightDtype, SafetensorsDtype> = { f32: 'F32', f16: 'F16', bf16: 'BF16' };

/** The reference implementation refuses headers above 100 MB (a guard against hostile files). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Byte offsets relative to the start of the data buffer (after the header). */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** Tensors in data order (ascending offsets). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string> | null;
  /** File offset of the data buffer: 8 + N. */
  dataStart: number;
}

const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Parses and validates a header. `json` is the N header bytes; `dataLength` the size of the byte buffer
 * after it. Every error names the file and, where there is one, the tensor.
 */
export function parseSafetensorsHeader(file: string, json: Uint8Array, dataLength: number): SafetensorsHeader {
  const fix = 'the file is not a valid safetensors file (re-download or re-export it)';
  if (json[0] !== 0x7b) throw new UserError(`${file}: safetensors header must start with '{'; ${fix}`);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw new UserError(`${file}: safetensors header is not valid UTF-8 JSON (${oneLine((e as Error).message)}); ${fix}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${file}: safetensors header must be a JSON object; ${fix}`);
  let metadata: Record<string, string> | null = null;
  const entries: SafetensorsEntry[] = [];
  for (const [name, info] of Object.entries(raw as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info) || Object.values(info).some((v) => typeof v !== 'string')) {
        throw new UserError(`${file}: safetensors "__metadata__" must map strings to strings; ${fix}`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor '${clip(name)}'`;
    if (typeof info !== 'object' || info === null) throw new UserError(`${where}: header entry must be an object with dtype, shape, data_offsets`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in SAFETENSORS_DTYPES)) {
      throw new UserError(`${where}: unknown dtype ${quoteValue(dtype)} (supported: ${Object.keys(SAFETENSORS_DTYPES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new UserError(`${where}: shape must be an array of non-negative integers, got ${quoteValue(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new UserError(`${where}: data_offsets must be [begin, end] with 0 <= begin <= end, got ${quoteValue(offsets)}`);
    }
    const d = dtype as SafetensorsDtype;
    const bytes = numel(shape) * SAFETENSORS_DTYPES[d];
    if (offsets[1] - offsets[0] !== bytes) {
      throw new UserError(`${where}: data_offsets ${quoteValue(offsets)} span ${offsets[1] - offsets[0]} bytes, but shape ${quoteValue(shape)} of ${d} needs ${bytes}`);
    }
    entries.push({ name, dtype: d, shape: shape as number[], begin: offsets[0], end: offsets[1] });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.begin !== pos) {
      throw new UserError(
        `${file}: tensor '${clip(e.name)}': data_offsets start at ${e.begin} but the previous tensor ends at ${pos} ` +
          `(${e.begin < pos ? 'overlapping' : 'a gap between'} tensors); ${fix}`,
      );
    }
    pos = e.end;
  }
  if (pos !== dataLength) {
    throw new UserError(
      `${file}: tensors cover ${pos} bytes but the data buffer holds ${dataLength} ` +
        `(${pos > dataLength ? 'file truncated' : 'trailing bytes'}); ${fix}`,
    );
  }
  return { entries, metadata, dataStart: json.byteLength + 8 };
}

/** An open safetensors file: the validated header, and reads of single tensors straight from disk. */
export class SafetensorsReader {
  readonly header: SafetensorsHeader;
  private readonly byName: Map<string, SafetensorsEntry>;
  private fd: number;

  constructor(readonly file: string) {
    this.fd = openForRead(file);
    try {
      const size = fs.fstatSync(this.fd).size;
      if (size < 8) throw new UserError(`${file}: file is ${size} bytes, too short for a safetensors header (8-byte length + JSON)`);
      const lenBytes = new Uint8Array(8);
      readExact(this.fd, lenBytes, 0, file, 'the header length');
      const n = Number(new DataView(lenBytes.buffer).getBigUint64(0, true));
      if (n > MAX_HEADER_BYTES) throw new UserError(`${file}: safetensors header length ${n} exceeds ${MAX_HEADER_BYTES} bytes; the file is corrupt or not safetensors`);
      if (8 + n > size) throw new UserError(`${file}: header length ${n} runs past the end of the ${size}-byte file; the file is truncated or not safetensors`);
      const json = new Uint8Array(n);
      readExact(this.fd, json, 8, file, 'the JSON header');
      this.header = parseSafetensorsHeader(file, json, size - 8 - n);
      this.byName = new Map(this.header.entries.map((e) => [e.name, e]));
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }

  get names(): string[] {
    return this.header.entries.map((e) => e.name);
  }

  get(name: string): SafetensorsEntry | undefined {
    return this.byName.get(name);
  }

  /** Reads a float tensor (F32/F16/BF16/F64) as float32, into `out` if given (its length must match). */
  readFloat32(name: string, out?: Float32Array): Float32Array {
    const e = this.byName.get(name);
    if (!e) throw new UserError(`${this.file}: no tensor named '${name}'`);
    const dtype = FLOAT_DTYPES[e.dtype];
    if (!dtype) throw new UserError(`${this.file}: tensor '${name}' has dtype ${e.dtype}; only F32, F16, BF16 and F64 can be read as floats`);
    const n = numel(e.shape);
    const dst = out ?? new Float32Array(n);
    if (dst.length !== n) throw new Error(`readFloat32('${name}'): destination holds ${dst.length} values, tensor has ${n}`);
    readFloats(this.fd, this.header.dataStart + e.begin, dst, dtype, this.file, `tensor '${name}'`);
    return dst;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

export interface LoadedTensor {
  dtype: SafetensorsDtype;
  shape: number[];
  data: Float32Array;
}

/** Reads a whole safetensors file of float tensors, each converted to float32. */
export function readSafetensors(file: string): { tensors: Map<string, LoadedTensor>; metadata: Record<string, string> | null } {
  const r = new SafetensorsReader(file);
  try {
    const tensors = new Map<string, LoadedTensor>();
    for (const e of r.header.entries) tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data: r.readFloat32(e.name) });
    return { tensors, metadata: r.header.metadata };
  } finally {
    r.close();
  }
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  /** float32 values in row-major order, or a function producing them (called once, at write time). */
  data: Float32Array | (() => Float32Array);
  /** Stored dtype (default f32). */
  dtype?: WeightDtype;
}

/**
 * The header bytes (8-byte length + JSON padded with spaces to a multiple of 8) and the tensors in the
 * order their data follows, as the reference serializer lays them out: sorted by dtype, larger first in
 * its enum order (F32 before BF16 before F16), then by name.
 */
export function encodeSafetensorsHeader(tensors: readonly TensorToWrite[], metadata?: Record<string, string>): { bytes: Uint8Array; order: TensorToWrite[] } {
  const stored = (t: TensorToWrite): SafetensorsDtype => STORE_DTYPES[t.dtype ?? 'f32'];
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '__metadata__' || seen.has(t.name)) throw new Error(`writeSafetensors: tensor name '${t.name}' is reserved or repeated`);
    seen.add(t.name);
  }
  const order = [...tensors].sort((a, b) => DTYPE_RANK.indexOf(stored(b)) - DTYPE_RANK.indexOf(stored(a)) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // A null-prototype object, so a tensor named '__proto__' becomes a key like any other.
  const header: Record<string, unknown> = Object.create(null);
  if (metadata) header.__metadata__ = metadata;
  let pos = 0;
  for (const t of order) {
    const end = pos + numel(t.shape) * SAFETENSORS_DTYPES[stored(t)];
    header[t.name] = { dtype: stored(t), shape: t.shape, data_offsets: [pos, end] };
    pos = end;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20, 8 + json.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { bytes, order };
}

/** Writes a safetensors file atomically (temp file + rename), streaming one tensor at a time. */
export function writeSafetensors(file: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const { bytes, order } = encodeSafetensorsHeader(tensors, metadata);
  writeAtomically(file, (w) => {
    w.write(bytes);
    for (const t of order) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      if (data.length !== numel(t.shape)) throw new Error(`writeSafetensors: tensor '${t.name}' has ${data.length} values but shape ${JSON.stringify(t.shape)}`);
      writeFloats(w, data, t.dtype ?? 'f32');
    }
  });
}
