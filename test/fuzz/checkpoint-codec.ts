// The tinyllm checkpoint's header JSON and checksums, for fuzzing checkpoints with consistent checksums
// (shared by the pre-training and fine-tune state fuzz tests).
import { writeU32, type JsonCodec, type ReaderTarget } from './harness.js';

const PREAMBLE = 32;

/** The format's checksum (checkpoint.ts header comment): h = (h ^ word) · 0x01000193 over u32 LE words. */
function checksum(bytes: Uint8Array): number {
  const words = new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + (bytes.byteLength & ~3)));
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return h;
}

const headerBytes = (b: Uint8Array): number => new DataView(b.buffer, b.byteOffset).getUint32(12, true);

/**
 * The header JSON; `set` pads it with spaces to 64 bytes and fixes its length, not its checksum: the fixup does
 * that in the cases that ask for it, so the other half checks that the header checksum stops a changed header
 * (fixing it here let an unrepaired nHead 2 -> 1 read as a different model, FUZZ_SEED=1270511582).
 */
export const headerJson: JsonCodec = {
  get: (b) => Buffer.from(b.subarray(PREAMBLE, PREAMBLE + headerBytes(b))).toString('utf8'),
  set(b, text) {
    const raw = Buffer.from(text, 'utf8');
    const json = Buffer.concat([raw, Buffer.alloc(Math.ceil(raw.length / 64) * 64 - raw.length, 0x20)]);
    const out = Buffer.concat([b.subarray(0, PREAMBLE), json, b.subarray(PREAMBLE + headerBytes(b))]);
    writeU32(out, 12, json.length);
    return out;
  },
};

/** Recomputes the header checksum and every section checksum the (possibly mutated) header describes. */
export function fixChecksums(b: Uint8Array): Uint8Array {
  if (b.length < PREAMBLE || PREAMBLE + headerBytes(b) > b.length) return b;
  const out = b.slice();
  const hbytes = headerBytes(b);
  writeU32(out, 16, checksum(out.subarray(PREAMBLE, PREAMBLE + hbytes)));
  try {
    const { sections } = JSON.parse(headerJson.get(out)) as { sections: { offset: number; bytes: number }[] };
    const start = PREAMBLE + hbytes;
    const end = start + sections.reduce((n, s) => n + s.bytes, 0);
    sections.forEach((s, i) => {
      if (start + s.offset + s.bytes <= end && end + 4 * i + 4 <= out.length) writeU32(out, end + 4 * i, checksum(out.subarray(start + s.offset, start + s.offset + s.bytes)));
    });
  } catch {
    // header not JSON: nothing more to fix
  }
  return out;
}

/** The mutation setup of a checkpoint file `name`: preamble fields, the header JSON, checksums repaired after mutating. */
export function checkpointMutations(name: string): Pick<ReaderTarget<unknown>, 'mutable' | 'fields' | 'json' | 'fixup'> {
  return {
    mutable: [name],
    fields: {
      version: { file: name, offset: 8, size: 4 },
      headerBytes: { file: name, offset: 12, size: 4 },
      reserved: { file: name, offset: 20, size: 4 },
    },
    json: { [name]: headerJson },
    fixup: (_f, b) => fixChecksums(b),
  };
}
