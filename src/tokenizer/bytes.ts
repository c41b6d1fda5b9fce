// Byte-level helpers: GPT-2's byte <-> printable-unicode table (bytes_to_unicode in OpenAI's encoder.py,
// ByteLevel in Hugging Face tokenizers) through which vocab.json / merges.txt spell raw bytes, and a
// UTF-8 encoder that writes a slice of a JS string into a reusable buffer without allocating.

/** Bytes that byte-level vocabularies spell as themselves (printable Latin-1 except the soft hyphen). */
function printable(b: number): boolean {
  return (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
}

/**
 * The 256 bytes in GPT-2's vocabulary order: printable bytes first, then the rest. Byte BYTE_ORDER[i]
 * has id i in GPT-2's vocab.json (and in vocabularies trained here).
 */
export const BYTE_ORDER: readonly number[] = [...Array(256).keys()].sort((a, b) => Number(printable(b)) - Number(printable(a)) || a - b);

/** BYTE_TO_CHAR[b]: the one-character spelling of byte b (itself if printable, else U+0100 + its rank among the rest). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const out = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  return out;
})();

const CHAR_TO_BYTE = new Map<string, number>(BYTE_TO_CHAR.map((c, b) => [c, b]));

/** Spells raw bytes as a byte-level token string (e.g. [0x20, 0x68] -> 'Ġh'). */
export function bytesToToken(bytes: ArrayLike<number>): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** Raw bytes of a byte-level token string, or null if a character is not in the byte alphabet. */
export function tokenToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token[i]);
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/** Upper bound of the UTF-8 length of `n` UTF-16 code units. */
export function maxUtf8Length(n: number): number {
  return n * 3;
}

/**
 * Writes the UTF-8 bytes of s[start, end) into `out` from 0 and returns the byte count. Lone
 * surrogates become U+FFFD (EF BF BD), as TextEncoder does. `out` must hold maxUtf8Length(end - start).
 */
export function utf8EncodeInto(s: string, start: number, end: number, out: Uint8Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = s.charCodeAt(i);
    if (c < 0x80) {
      out[n++] = c;
    } else if (c < 0x800) {
      out[n++] = 0xc0 | (c >> 6);
      out[n++] = 0x80 | (c & 63);
    } else {
      if (c >= 0xd800 && c <= 0xdfff) {
        const d = i + 1 < end ? s.charCodeAt(i + 1) : 0;
        if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
          out[n++] = 0xf0 | (c >> 18);
          out[n++] = 0x80 | ((c >> 12) & 63);
          out[n++] = 0x80 | ((c >> 6) & 63);
          out[n++] = 0x80 | (c & 63);
          continue;
        }
        c = 0xfffd;
      }
      out[n++] = 0xe0 | (c >> 12);
      out[n++] = 0x80 | ((c >> 6) & 63);
      out[n++] = 0x80 | (c & 63);
    }
  }
  return n;
}
