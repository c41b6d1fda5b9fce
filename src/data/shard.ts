// Token shards in llm.c's format (dev/data/data_common.py, write_datafile): a header of 256
// little-endian int32 — [0] = magic 20240520, [1] = version 1, [2] = number of tokens, rest zero —
// followed by the tokens as little-endian uint16. Readers here check the header and the file size and
// say how to fix a bad file; the writer streams tokens with constant memory and patches the count last.
import * as fs from 'node:fs';
import { UserError } from '../util/errors.js';

export const SHARD_MAGIC = 20240520;
export const SHARD_VERSION = 1;
export const SHARD_HEADER_INTS = 256;
export const SHARD_HEADER_BYTES = SHARD_HEADER_INTS * 4;
/** Tokens are stored as uint16, so ids must be below this. */
export const SHARD_MAX_TOKEN = 65535;

export interface ShardHeader {
  magic: number;
  version: number;
  numTokens: number;
}

/** The 1024-byte header for a shard holding `numTokens` tokens. */
export function encodeShardHeader(numTokens: number): Uint8Array {
  const bytes = new Uint8Array(SHARD_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  view.setInt32(0, SHARD_MAGIC, true);
  view.setInt32(4, SHARD_VERSION, true);
  view.setInt32(8, numTokens, true);
  return bytes;
}

/** Parses and validates a header; `file` is only used in error messages. */
export function decodeShardHeader(bytes: Uint8Array, file: string): ShardHeader {
  if (bytes.byteLength < SHARD_HEADER_BYTES) {
    throw new UserError(
      `${file}: too short for a token shard (${bytes.byteLength} bytes, the header alone is ${SHARD_HEADER_BYTES}); ` +
        `the file is truncated or not a shard — re-create it with 'tinyllm prepare'`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, SHARD_HEADER_BYTES);
  const magic = view.getInt32(0, true);
  const version = view.getInt32(4, true);
  const numTokens = view.getInt32(8, true);
  if (magic !== SHARD_MAGIC) {
    throw new UserError(
      `${file}: not a token shard (magic number ${magic}, expected ${SHARD_MAGIC} as written by llm.c and 'tinyllm prepare'); ` +
        `check the path, or re-create the shard with 'tinyllm prepare'`,
    );
  }
  if (version !== SHARD_VERSION) {
    throw new UserError(
      `${file}: shard version ${version} is not supported (this tinyllm reads version ${SHARD_VERSION}, uint16 tokens); ` +
        `re-create it with 'tinyllm prepare'`,
    );
  }
  if (numTokens < 0) throw new UserError(`${file}: corrupt shard header (token count ${numTokens}); re-create it with 'tinyllm prepare'`);
  return { magic, version, numTokens };
}

/** Reads and validates a shard's header, and checks the file size matches the token count. */
export function readShardHeader(file: string): ShardHeader {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new UserError(`${file}: cannot open token shard (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path`);
  }
  try {
    const bytes = new Uint8Array(SHARD_HEADER_BYTES);
    const n = fs.readSync(fd, bytes, 0, SHARD_HEADER_BYTES, 0);
    const header = decodeShardHeader(bytes.subarray(0, n), file);
    const size = fs.fstatSync(fd).size;
    const expected = SHARD_HEADER_BYTES + 2 * header.numTokens;
    if (size !== expected) {
      throw new UserError(
        `${file}: size is ${size} bytes but its header promises ${header.numTokens} tokens (${expected} bytes); ` +
          `the file is ${size < expected ? 'truncated (an interrupted copy?)' : 'longer than its header says'} — re-create it with 'tinyllm prepare'`,
      );
    }
    return header;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads `count` tokens starting at token index `start` of an open shard into `out` (as uint16 values). */
export function readShardTokens(fd: number, start: number, count: number, out: Uint16Array): void {
  const bytes = new Uint8Array(out.buffer, out.byteOffset, count * 2);
  let done = 0;
  while (done < bytes.byteLength) {
    const n = fs.readSync(fd, bytes, done, bytes.byteLength - done, SHARD_HEADER_BYTES + start * 2 + done);
    if (n === 0) throw new UserError(`token shard ended early while reading tokens ${start}..${start + count}; re-create it with 'tinyllm prepare'`);
    done += n;
  }
  if (!LITTLE_ENDIAN) for (let i = 0; i < count; i++) out[i] = ((out[i] & 0xff) << 8) | (out[i] >>> 8);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Calls fn on consecutive chunks (64K tokens, the buffer is reused) of a shard's tokens, at most maxTokens; returns the count read. */
export function forEachTokenChunk(file: string, fn: (tokens: Uint16Array, offset: number) => void, maxTokens = Infinity): number {
  const { numTokens } = readShardHeader(file);
  const buf = new Uint16Array(65536);
  const end = Math.min(numTokens, maxTokens);
  const fd = fs.openSync(file, 'r');
  try {
    for (let at = 0; at < end; at += buf.length) {
      const n = Math.min(buf.length, end - at);
      readShardTokens(fd, at, n, buf);
      fn(buf.subarray(0, n), at);
    }
  } finally {
    fs.closeSync(fd);
  }
  return end;
}

/** The first token id ≥ vocabSize in a shard and its token offset, or null when every id fits. */
export function firstIdOutside(file: string, vocabSize: number): { offset: number; id: number } | null {
  let found: { offset: number; id: number } | null = null;
  forEachTokenChunk(file, (t, at) => {
    if (found) return;
    for (let i = 0; i < t.length; i++) {
      if (t[i] >= vocabSize) {
        found = { offset: at + i, id: t[i] };
        return;
      }
    }
  });
  return found;
}

/** Throws a UserError naming the shard, the token offset and the id when a shard holds an id outside the vocabulary. */
export function checkShardIds(file: string, vocabSize: number): void {
  const bad = firstIdOutside(file, vocabSize);
  if (bad) {
    throw new UserError(
      `${file}: token id ${bad.id} at token offset ${bad.offset} (byte ${SHARD_HEADER_BYTES + 2 * bad.offset}) is outside the vocabulary of ${vocabSize} ids; ` +
        `the shard was prepared with another tokenizer or is corrupt — re-run 'tinyllm prepare' with the model's tokenizer`,
    );
  }
}

/**
 * Streams tokens into one shard file: a zero header first, tokens in 64K-token chunks, then the real
 * header is written over the first 1024 bytes on `close()`. The caller decides where the file lives
 * (prepare writes into a staging directory and renames the finished set into place).
 */
export class ShardFileWriter {
  readonly path: string;
  numTokens = 0;
  private fd: number | null;
  private readonly buf = new Uint16Array(65536);
  private fill = 0;
  private flushed = 0;

  constructor(path: string) {
    this.path = path;
    this.fd = fs.openSync(path, 'w');
    writeAll(this.fd, new Uint8Array(SHARD_HEADER_BYTES), 0);
  }

  /** Appends tokens; each must be an integer in [0, 65535]. */
  write(tokens: ArrayLike<number>): void {
    if (this.fd === null) throw new Error(`ShardFileWriter(${this.path}): write after close`);
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!(t >= 0 && t <= SHARD_MAX_TOKEN && Number.isInteger(t))) {
        throw new Error(`ShardFileWriter(${this.path}): token ${t} does not fit in uint16 (vocabularies above 65536 need another format)`);
      }
      this.buf[this.fill++] = t;
      this.numTokens++;
      if (this.fill === this.buf.length) this.flush();
    }
  }

  private flush(): void {
    if (this.fd === null) throw new Error(`ShardFileWriter(${this.path}): closed twice`);
    if (!LITTLE_ENDIAN) for (let i = 0; i < this.fill; i++) this.buf[i] = ((this.buf[i] & 0xff) << 8) | (this.buf[i] >>> 8);
    writeAll(this.fd, new Uint8Array(this.buf.buffer, 0, this.fill * 2), SHARD_HEADER_BYTES + 2 * this.flushed);
    this.flushed += this.fill;
    this.fill = 0;
  }

  /** Writes the final header, fsyncs and closes; returns the token count. */
  close(): number {
    this.flush();
    const fd = this.fd as number;
    writeAll(fd, encodeShardHeader(this.numTokens), 0);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    this.fd = null;
    return this.numTokens;
  }

  /** Closes and deletes the file (used when a run is aborted). */
  abort(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    fs.rmSync(this.path, { force: true });
  }
}

function writeAll(fd: number, bytes: Uint8Array, position: number): void {
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off, position + off);
}
