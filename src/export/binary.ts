// Low-level float I/O shared by the weight file formats: read n floats of a stored dtype from a file
// position straight into a Float32Array, and stream a Float32Array out as f32/f16/bf16, in bounded chunks
// so a 124M-parameter model never needs a second full copy. All formats here are little-endian.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { UserError } from '../util/errors.js';
import { AtomicWriter } from '../util/fs.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './half.js';

/** Storage dtypes of weights. f64 is read-only (some safetensors files hold it). */
export type WeightDtype = 'f32' | 'f16' | 'bf16';
export type ReadableDtype = WeightDtype | 'f64';

export const DTYPE_SIZE: Record<ReadableDtype, number> = { f32: 4, f16: 2, bf16: 2, f64: 8 };

const CHUNK = 1 << 16; // elements converted per step

if (os.endianness() !== 'LE') {
  throw new Error('tinyllm weight files are little-endian; this big-endian host is not supported');
}

export function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (e) {
    throw new UserError(`${file}: cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); check the path`);
  }
}

/** Reads exactly `into.byteLength` bytes at `position`, or throws a UserError saying the file is truncated. */
export function readExact(fd: number, into: Uint8Array, position: number, file: string, what: string): void {
  let off = 0;
  while (off < into.byteLength) {
    const n = fs.readSync(fd, into, off, into.byteLength - off, position + off);
    if (n === 0) {
      throw new UserError(
        `${file}: file is truncated while reading ${what} (needed ${into.byteLength} bytes at offset ${position}, ` +
          `got ${off}); re-download or re-export it`,
      );
    }
    off += n;
  }
}

function bytesOf(a: Float32Array | Float64Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Reads out.length values stored as `dtype` at `position` into out (converted to float32). */
export function readFloats(fd: number, position: number, out: Float32Array, dtype: ReadableDtype, file: string, what: string): void {
  if (dtype === 'f32') {
    readExact(fd, bytesOf(out), position, file, what);
    return;
  }
  const scratch = dtype === 'f64' ? new Float64Array(Math.min(CHUNK, out.length)) : new Uint16Array(Math.min(CHUNK, out.length));
  const size = DTYPE_SIZE[dtype];
  for (let i = 0; i < out.length; i += CHUNK) {
    const n = Math.min(CHUNK, out.length - i);
    const part = scratch.subarray(0, n);
    readExact(fd, bytesOf(part), position + i * size, file, what);
    const dst = out.subarray(i, i + n);
    if (part instanceof Float64Array) dst.set(part);
    else if (dtype === 'f16') decodeF16(part, dst);
    else decodeBf16(part, dst);
  }
}

/** Appends `data` to the writer encoded as `dtype` (f32 is written from the array's own bytes). */
export function writeFloats(w: AtomicWriter, data: Float32Array, dtype: WeightDtype): void {
  if (dtype === 'f32') {
    w.write(bytesOf(data));
    return;
  }
  const scratch = new Uint16Array(Math.min(CHUNK, data.length));
  for (let i = 0; i < data.length; i += CHUNK) {
    const n = Math.min(CHUNK, data.length - i);
    const part = scratch.subarray(0, n);
    if (dtype === 'f16') encodeF16(data.subarray(i, i + n), part);
    else encodeBf16(data.subarray(i, i + n), part);
    w.write(bytesOf(part));
  }
}
