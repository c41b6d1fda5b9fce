// JSON records of a file, streamed line by line: JSON Lines (one value per line), or one JSON array of values
// (the Alpaca data set's own alpaca_data.json, pretty-printed or on one line), told apart by the file's first
// non-blank character. Each record carries its 1-based number and the line it starts on, so errors can name them.
import { readLines } from './lines.js';

export type JsonRecord =
  /** A record. */
  | { row: number; line: number; value: unknown }
  /** A record that is not valid JSON: what is wrong (the caller says where, from row and line). */
  | { row: number; line: number; problem: string }
  /** Unreadable bytes or a broken array: a whole message that names the line. */
  | { line: number; bad: string };

/** Records of `file` in file order. JSON Lines: blank lines skipped. Array: the items of the one top-level array. */
export async function* readJsonRecords(file: string, onBytes?: (bytesSoFar: number) => void): AsyncGenerator<JsonRecord> {
  let mode: 'lines' | 'array' | undefined;
  let row = 0;
  // array scanning state: nesting depth (1 = inside the top array), string state, the item being read
  let depth = 0;
  let inString = false;
  let escaped = false;
  let item: string[] | null = null;
  let itemLine = 0;
  let openLine = 0;
  let closed = false;
  const parse = (text: string, line: number): JsonRecord => {
    row++;
    try {
      return { row, line, value: JSON.parse(text) };
    } catch (e) {
      return { row, line, problem: `not valid JSON (${(e as Error).message})` };
    }
  };
  for await (const l of readLines(file, onBytes)) {
    if (l.bad) {
      yield { line: l.number, bad: l.bad };
      continue;
    }
    const text = l.text;
    if (mode === undefined) {
      if (text.trim() === '') continue;
      mode = text.trimStart().startsWith('[') ? 'array' : 'lines';
    }
    if (mode === 'lines') {
      if (text.trim() !== '') yield parse(text, l.number);
      continue;
    }
    let from = 0; // where the item's text on this line starts
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (closed) {
        if (c.trim() === '') continue;
        yield { line: l.number, bad: `line ${l.number}: text after the closing ']' of the JSON array; a .json file holds one array of records, or one record per line (JSON Lines)` };
        return;
      }
      if (depth === 0) {
        if (c === '[') [depth, openLine] = [1, l.number];
        continue; // only whitespace can stand before the '[' (the mode check saw it first)
      }
      if (inString) {
        if (escaped) escaped = false;
        else if (c === '\\') escaped = true;
        else if (c === '"') inString = false;
        continue;
      }
      if (depth === 1 && (c === ',' || c === ']')) {
        if (item) {
          item.push(text.slice(from, i));
          yield parse(item.join(''), itemLine);
          item = null;
        } else if (c === ',') {
          yield { line: l.number, bad: `line ${l.number}: a ',' with no record before it in the JSON array; remove it` };
          return;
        }
        if (c === ']') [depth, closed] = [0, true];
        continue;
      }
      if (item === null) {
        if (c.trim() === '') continue;
        [item, itemLine, from] = [[], l.number, i];
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if ((c === '}' || c === ']') && --depth < 1) {
        item.push(text.slice(from, i + 1));
        yield parse(item.join(''), itemLine); // a closing bracket with no opening one: not valid JSON
        return;
      }
    }
    item?.push(text.slice(from), '\n');
  }
  if (mode === 'array' && !closed) yield { line: openLine, bad: `line ${openLine}: the JSON array that starts here is never closed (no ']' at the end); the file may be cut short` };
}
