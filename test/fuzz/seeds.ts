// Valid seed files for the fuzz targets, made by the project's own writers, and codecs of formats that
// several targets share.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { JsonCodec } from './harness.js';

/** The bytes a writer produces: `write` gets a path in a temporary directory (removed afterwards). */
export function fileBytes(write: (file: string) => void, name = 'seed'): Uint8Array {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-fuzz-seed-'));
  try {
    const file = path.join(dir, name);
    write(file);
    return new Uint8Array(fs.readFileSync(file));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `read` on `bytes` written to a temporary file (removed afterwards). */
export function withFile<R>(bytes: Uint8Array, read: (file: string) => R): R {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-fuzz-seed-'));
  try {
    const file = path.join(dir, 'seed');
    fs.writeFileSync(file, bytes);
    return read(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The JSON header of a safetensors file; `set` rewrites the 8-byte length before it. */
export const safetensorsJson: JsonCodec = {
  get: (b) => Buffer.from(b.subarray(8, 8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)))).toString('utf8'),
  set(b, text) {
    const json = Buffer.from(text, 'utf8');
    const rest = b.subarray(8 + Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true)));
    const out = Buffer.concat([Buffer.alloc(8), json, rest]);
    out.writeBigUInt64LE(BigInt(json.length), 0);
    return out;
  },
};
