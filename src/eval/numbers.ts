// Numbers in free text, for the baselines' features and for numeric answers: signed decimals with optional
// exponent ("-3.5", "+.25", "1e-3", "6.02E23"). A number glued to a word ("x1", "ch_2") is part of a name and
// skipped; a '-' right after a digit or letter is a separator ("2024-01-02" → 2024, 01, 02), not a sign.
// Commas separate numbers (a decimal comma is not supported).

const NUMBER = /(?<![\p{L}\p{N}_.])(?:[+-](?=\.?\d))?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/gu;

/** Every number in the text, in order. */
export function parseNumbers(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(NUMBER)) {
    const x = Number(m[0]);
    if (Number.isFinite(x)) out.push(x);
  }
  return out;
}

/** The value of a numeric answer: the text is one number (surrounding space allowed), else null. */
export function parseNumericAnswer(text: string): number | null {
  const t = text.trim();
  const xs = parseNumbers(t);
  if (xs.length !== 1) return null;
  const m = t.match(NUMBER);
  return m && m[0].length === t.length ? xs[0] : null;
}
