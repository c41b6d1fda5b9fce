// GPT-2's pre-tokenizer: text is cut into pieces by the pattern of OpenAI's encoder.py
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// and BPE runs inside each piece. `pieceEnd` is a hand-written scanner for that pattern (no match
// objects, no backtracking); GPT2_PATTERN is the same pattern as a JS regex, kept as its spec in tests.
//
// \s is Unicode White_Space, as in Python's `regex` module, tiktoken and Hugging Face tokenizers. JS's
// own \s differs on two code points (it adds U+FEFF and lacks U+0085), so GPT2_PATTERN spells it out.

const WS = String.raw`[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const NOT_WS = String.raw`[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]`;
const OTHER = String.raw`[^\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\p{L}\p{N}]`;

/** GPT-2's split pattern as a global, Unicode-aware JS regex (reference semantics for `pieceEnd`). */
export const GPT2_PATTERN = new RegExp(
  String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?${OTHER}+|${WS}+(?!${NOT_WS})|${WS}+`,
  'gu',
);

// Character classes of code points, computed on first sight and remembered (1.1 MB table).
const UNKNOWN = 0;
const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER_CLASS = 4;
const classes = new Uint8Array(0x110000);
const IS_LETTER = /\p{L}/u;
const IS_NUMBER = /\p{N}/u;
const IS_SPACE = new RegExp(WS, 'u');

function classify(cp: number): number {
  const ch = String.fromCodePoint(cp);
  const k = IS_LETTER.test(ch) ? LETTER : IS_NUMBER.test(ch) ? NUMBER : IS_SPACE.test(ch) ? SPACE : OTHER_CLASS;
  classes[cp] = k;
  return k;
}

/** Class of the code point starting at s[i] (a lone surrogate is OTHER, as in the regex). */
function classAt(s: string, i: number): number {
  const cp = s.codePointAt(i) as number;
  const k = classes[cp];
  return k === UNKNOWN ? classify(cp) : k;
}

/** End (exclusive) of the run of code points of class `k` starting at i. */
function runEnd(s: string, i: number, k: number): number {
  const n = s.length;
  while (i < n) {
    const c = s.charCodeAt(i);
    if (c < 0x80) {
      if ((classes[c] || classify(c)) !== k) return i;
      i++;
    } else {
      if (classAt(s, i) !== k) return i;
      i += c >= 0xd800 && c <= 0xdbff && i + 1 < n && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
    }
  }
  return n;
}

/** Length of a contraction ('s 't 're 've 'm 'll 'd) at s[i] === "'", or 0. */
function contraction(s: string, i: number): number {
  const a = s.charCodeAt(i + 1);
  if (a === 0x73 || a === 0x74 || a === 0x6d || a === 0x64) return 2; // s t m d
  const b = s.charCodeAt(i + 2);
  if ((a === 0x72 && b === 0x65) || (a === 0x76 && b === 0x65) || (a === 0x6c && b === 0x6c)) return 3; // re ve ll
  return 0;
}

/** End (exclusive) of the GPT-2 piece that starts at s[i] (i < s.length). */
export function pieceEnd(s: string, i: number): number {
  const n = s.length;
  const c = s.charCodeAt(i);
  if (c === 0x27) {
    const len = contraction(s, i);
    if (len) return i + len;
  }
  // ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional single space, then a run of one class.
  if (c === 0x20 && i + 1 < n) {
    const next = classAt(s, i + 1);
    if (next !== SPACE) return runEnd(s, i + 1, next);
  }
  const k = classAt(s, i);
  if (k !== SPACE) return runEnd(s, i, k);
  // Whitespace (all in the BMP): '\s+(?!\S)' leaves the last space of a run for the next piece when
  // a non-space follows, unless the run is a single character, which '\s+' then takes.
  const end = runEnd(s, i, SPACE);
  return end === n || end - i === 1 ? end : end - 1;
}

/** Splits text into GPT-2 pieces (convenience for tests and tools; encoders use `pieceEnd`). */
export function splitPieces(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const j = pieceEnd(text, i);
    out.push(text.slice(i, j));
    i = j;
  }
  return out;
}
