// Byte-level helpers for our formats whose JSON header is checksummed (.tllm and .tlx, version 2: magic, u32 version,
// u32 header length, u32 CRC-32 of the header at 16, the header at 20): the header's text, a JSON codec that leaves
// the CRC stale (the fuzz fixup repairs it), the repair itself, and version 1 files (no CRC, header at 16) as older
// tinyllm versions wrote them, for the tests that old files still read.
import { crc32 } from '../../src/util/crc32.js';
import type { JsonCodec } from './harness.js';

const START = 20;
const headerLength = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(12, true);

/** Rewrites the CRC-32 of the header (when the header length still fits in the file). */
export function fixHeaderCrc(b: Uint8Array): Uint8Array {
  if (b.length < START || START + headerLength(b) > b.length) return b;
  const len = headerLength(b);
  const out = Uint8Array.from(b);
  new DataView(out.buffer).setUint32(16, crc32(out.subarray(START, START + len)), true);
  return out;
}

/**
 * The JSON header of a version 2 file. `set` writes new text and its length, keeps the data section at an
 * `align`-byte boundary (its offsets are counted from the file start, or from the header's end with `relative`)
 * and leaves the CRC as it was.
 */
export function headerCodec(align: number, relative: boolean): JsonCodec {
  return {
    get: (b) => Buffer.from(b.subarray(START, START + headerLength(b))).toString('utf8'),
    set(b, text) {
      const dataStart = Math.ceil((START + headerLength(b)) / align) * align;
      const json = Buffer.from(text, 'utf8');
      const end = Math.ceil((START + json.length) / align) * align;
      const head = Buffer.alloc(relative ? end : Math.max(dataStart, end), 0x20);
      head.set(b.subarray(0, START));
      head.writeUInt32LE(head.length - START, 12);
      head.set(json, START);
      return Buffer.concat([head, b.subarray(dataStart)]);
    },
  };
}

/**
 * The version 1 file of a version 2 one: no CRC, the header moved 4 bytes forward at 16, padded with spaces to
 * the same end, so the data section stays where it is.
 */
export function toVersion1(b: Uint8Array): Uint8Array {
  const len = headerLength(b);
  const out = Uint8Array.from(b);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, 1, true);
  out.copyWithin(16, START, START + len);
  out.fill(0x20, 16 + len, START + len);
  dv.setUint32(12, len + START - 16, true);
  return out;
}
