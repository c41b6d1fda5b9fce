// Streaming line reader for input files: reads 1 MiB chunks, decodes strict UTF-8, and yields lines
// with their 1-based numbers (CRLF and a leading BOM handled). A line with invalid UTF-8 comes back
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
      const data = buf.subarray(0, bytesRead);
      // Everything up to the last newline is complete lines (all of it at end of file).
      const end = eof ? data.length : data.lastIndexOf(0x0a) + 1;
      if (end > 0 || eof) {
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
      if (eof) return;
    }
  } finally {
    await fh.close();
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
