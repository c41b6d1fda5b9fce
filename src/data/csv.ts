// Streaming CSV (RFC 4180: comma-separated, "quoted" fields with "" escapes and embedded newlines)
// on top of readLines. Records carry the line they start on so errors can name it; a record with
// broken quoting or broken UTF-8 comes back with `bad` set instead of fields.
import { readLines, type Line } from './lines.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
  bad?: string;
}

/** Parses one record starting at `first`; pulls more lines for quoted fields spanning newlines. */
async function parseRecord(first: Line, more: AsyncIterator<Line>): Promise<CsvRecord> {
  if (!first.text.includes('"')) return { fields: first.text.split(','), line: first.number };
  const fields: string[] = [];
  let text = first.text;
  let i = 0;
  let field = '';
  for (;;) {
    if (text[i] === '"') {
      // Quoted field: runs to the closing quote, possibly across lines.
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) {
          field += text.slice(i) + '\n';
          const next = await more.next();
          if (next.done) return { fields: [], line: first.number, bad: `line ${first.number}: a quoted field is never closed; add the closing "` };
          if (next.value.bad) return { fields: [], line: first.number, bad: next.value.bad };
          text = next.value.text;
          i = 0;
          continue;
        }
        field += text.slice(i, q);
        if (text[q + 1] === '"') {
          field += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      if (i < text.length && text[i] !== ',') {
        return { fields: [], line: first.number, bad: `line ${first.number}, column ${i + 1}: unexpected text after a closing quote; quote the whole field and double inner quotes ("")` };
      }
    } else {
      const comma = text.indexOf(',', i);
      const end = comma < 0 ? text.length : comma;
      field = text.slice(i, end);
      if (field.includes('"')) {
        return { fields: [], line: first.number, bad: `line ${first.number}, column ${i + field.indexOf('"') + 1}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")` };
      }
      i = end;
    }
    fields.push(field);
    field = '';
    if (i >= text.length) return { fields, line: first.number };
    i++; // the comma
    if (i === text.length) {
      fields.push('');
      return { fields, line: first.number };
    }
  }
}

/** Records of a CSV file (the header is the first record). Blank lines are skipped. */
export async function* readCsv(file: string, onBytes?: (bytesSoFar: number) => void): AsyncGenerator<CsvRecord> {
  const lines = readLines(file, onBytes);
  try {
    for (;;) {
      const next = await lines.next();
      if (next.done) return;
      const line = next.value;
      if (line.bad) yield { fields: [], line: line.number, bad: line.bad };
      else if (line.text.trim() !== '') yield await parseRecord(line, lines);
    }
  } finally {
    await lines.return(undefined); // closes the file when the caller stops early
  }
}
