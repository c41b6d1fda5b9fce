// Streaming line reader for input files: reads 1 MiB chunks, decodes strict UTF-8, and yields lines
// with their 1-based numbers (CRLF and a leading BOM handled; a file that starts with a UTF-16 BOM, as
// spreadsheets' "Unicode text" exports do, is read as UTF-16). A line with invalid UTF-8 comes back
// with `bad` set to a message naming the line, byte column and byte, so callers can stop or skip.
import * as fsp from 'node:fs/promises';

export interface Line {
  text: string;
  /** 1-based line number. */
  number: number;
  /** Set when the line is not valid UTF-8 (then `text` is ''). */
  bad?: string;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Offset of the first byte that breaks UTF-8 in `b`, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    const n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
    if (n === 0 || i + n > b.length) return i;
    for (let k = 1; k < n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    if (n === 3 && ((c === 0xe0 && b[i + 1] < 0xa0) || (c === 0xed && b[i + 1] >= 0xa0))) return i;
    if (n === 4 && ((c === 0xf0 && b[i + 1] < 0x90) || (c === 0xf4 && b[i + 1] >= 0x90))) return i;
    i += n;
  }
  return -1;
}

/**
 * Lines of `file`. `onBytes(total)` is called with the bytes read so far after each chunk (for
 * progress). Memory stays at one chunk plus the longest line.
 */
export async function* readLines(file: string, onBytes?: (bytesSoFar: number) => void, chunkBytes = 1 << 20): AsyncGenerator<Line> {
  const fh = await fsp.open(file, 'r');
  try {
    const utf16 = await utf16Reader(fh);
    const buf = new Uint8Array(chunkBytes);
    // Bytes after the last newline, kept as a list of chunks so a line longer than a chunk is copied once
    // when it ends (joining them at every chunk made a newline-free file quadratic: minutes for 64 MB).
    const carry: Uint8Array[] = [];
    let lineNo = 0;
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, chunkBytes, null);
      const eof = bytesRead === 0;
      total += bytesRead;
      const data = utf16 ? utf16.next(buf.subarray(0, bytesRead), eof) : buf.subarray(0, bytesRead);
      const broken = utf16?.bad === true; // the line in progress ends at a broken code unit
      // Everything up to the last newline is complete lines (all of it at end of file).
      const end = eof && !broken ? data.length : data.lastIndexOf(0x0a) + 1;
      if (end > 0 || (eof && !broken)) {
        carry.push(data.subarray(0, end));
        const block = carry.length === 1 ? carry[0] : Buffer.concat(carry);
        carry.length = 0;
        if (end < data.length) carry.push(data.slice(end));
        if (block.length > 0) {
          for (const line of decodeBlock(block, lineNo)) {
            if (line.number === 1 && line.text.charCodeAt(0) === 0xfeff) line.text = line.text.slice(1);
            yield line;
          }
          lineNo += countNewlines(block) + (eof && block[block.length - 1] !== 0x0a ? 1 : 0);
        }
      } else carry.push(data.slice());
      onBytes?.(total);
      if (broken) {
        yield { text: '', number: lineNo + 1, bad: `line ${lineNo + 1}: invalid UTF-16 (half a surrogate pair or of a code unit; the file starts with a UTF-16 byte-order mark); save the file as UTF-8` };
        return;
      }
      if (eof) return;
    }
  } finally {
    await fh.close();
  }
}

const utf8 = new TextEncoder();

/** A UTF-16 reader when the file starts with a UTF-16 byte-order mark, else undefined. Reads without moving the file position. */
async function utf16Reader(fh: fsp.FileHandle): Promise<Utf16ToUtf8 | undefined> {
  const head = new Uint8Array(2);
  const { bytesRead } = await fh.read(head, 0, 2, 0);
  if (bytesRead < 2) return undefined;
  if (head[0] === 0xff && head[1] === 0xfe) return new Utf16ToUtf8(true);
  if (head[0] === 0xfe && head[1] === 0xff) return new Utf16ToUtf8(false);
  return undefined;
}

/**
 * UTF-16 to UTF-8, chunk by chunk: a code unit or a surrogate pair may straddle two chunks. At a surrogate
 * without its pair (or half a code unit at the end) it sets `bad` and drops the rest. The byte-order mark
 * comes through as U+FEFF, which readLines drops from line 1.
 */
class Utf16ToUtf8 {
  bad = false;
  private odd = -1; // a byte left over from the previous chunk
  private high = -1; // a high surrogate waiting for its low half
  private codes: number[] = [];
  private parts: string[] = [];
  constructor(private readonly littleEndian: boolean) {}

  next(bytes: Uint8Array, eof: boolean): Uint8Array {
    const unit = (a: number, b: number) => (this.littleEndian ? a | (b << 8) : (a << 8) | b);
    let i = 0;
    if (this.odd >= 0 && bytes.length > 0) {
      this.push(unit(this.odd, bytes[0]));
      [this.odd, i] = [-1, 1];
    }
    for (; i + 1 < bytes.length && !this.bad; i += 2) this.push(unit(bytes[i], bytes[i + 1]));
    if (!this.bad && i < bytes.length) this.odd = bytes[i];
    if (eof && (this.high >= 0 || this.odd >= 0)) this.bad = true;
    this.flush();
    const text = this.parts.join('');
    this.parts.length = 0;
    return utf8.encode(text);
  }

  private push(u: number): void {
    const low = u >= 0xdc00 && u <= 0xdfff;
    if (this.high >= 0 ? !low : low) {
      this.bad = true;
      return;
    }
    if (this.high >= 0) {
      this.codes.push(this.high, u);
      this.high = -1;
    } else if (u >= 0xd800 && u <= 0xdbff) this.high = u;
    else this.codes.push(u);
    if (this.codes.length >= 8192) this.flush();
  }

  private flush(): void {
    if (this.codes.length > 0) this.parts.push(String.fromCharCode(...this.codes));
    this.codes.length = 0;
  }
}

function countNewlines(b: Uint8Array): number {
  let n = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) n++;
  return n;
}

/** Lines of a block that ends at a newline (or at end of file). Decodes in one call unless UTF-8 is broken. */
function decodeBlock(block: Uint8Array, lineNo: number): Line[] {
  const out: Line[] = [];
  const trailingNewline = block[block.length - 1] === 0x0a;
  const push = (text: string, n: number) => out.push({ text: text.endsWith('\r') ? text.slice(0, -1) : text, number: n });
  try {
    const parts = decoder.decode(block).split('\n');
    if (trailingNewline) parts.pop();
    parts.forEach((t, i) => push(t, lineNo + i + 1));
    return out;
  } catch {
    // Slow path: decode line by line to find the broken one(s).
    let start = 0;
    let n = lineNo;
    while (start < block.length) {
      let nl = block.indexOf(0x0a, start);
      if (nl < 0) nl = block.length;
      const bytes = block.subarray(start, nl);
      n++;
      const bad = firstInvalidUtf8(bytes);
      if (bad >= 0) {
        out.push({ text: '', number: n, bad: `line ${n}, column ${bad + 1}: invalid UTF-8 (byte 0x${bytes[bad].toString(16).padStart(2, '0')}); save the file as UTF-8` });
      } else push(decoder.decode(bytes), n);
      start = nl + 1;
    }
    return out;
  }
}
