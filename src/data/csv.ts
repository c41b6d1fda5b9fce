// Streaming CSV (RFC 4180: "quoted" fields with "" escapes and embedded newlines) on top of readLines.
// The delimiter is a comma, or the semicolon or tab that spreadsheets in many locales and TSV files use,
// told from the header line. Records carry the line they start on so errors can name it; a record with
// broken quoting or broken UTF-8 comes back with `bad` set instead of fields.
import { readLines, type Line } from './lines.js';

export interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts. */
  line: number;
  /** The file's field delimiter (',', ';' or '\t'). */
  delimiter: Delimiter;
  bad?: string;
}

export type Delimiter = ',' | ';' | '\t';

/** How a delimiter is named in messages. */
export const delimiterName = (d: Delimiter): string => (d === '\t' ? 'tabs' : d === ';' ? 'semicolons' : 'commas');

/** The delimiter a file name fixes: tab for .tsv/.tab, else none (told from the header). */
export const delimiterFromPath = (file: string): Delimiter | undefined => (/\.(tsv|tab)$/i.test(file) ? '\t' : undefined);

/**
 * Index of column `name` in a header: the exact name, else the one name equal to it ignoring case and surrounding
 * spaces (`Output` for `output`); -1 when there is none or several.
 */
export function columnOf(header: readonly string[], name: string): number {
  const exact = header.indexOf(name);
  if (exact >= 0) return exact;
  const key = name.trim().toLowerCase();
  const loose = header.flatMap((h, i) => (h.trim().toLowerCase() === key ? [i] : []));
  return loose.length === 1 ? loose[0] : -1;
}

/**
 * The delimiter of a header line: of comma, tab and semicolon, the one that occurs most often outside quotes
 * (a tie goes to that order); a comma when none occurs (one column).
 */
export function detectDelimiter(header: string): Delimiter {
  const count = { ',': 0, '\t': 0, ';': 0 };
  let quoted = false;
  for (const ch of header) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === ',' || ch === '\t' || ch === ';')) count[ch]++;
  }
  let best: Delimiter = ',';
  for (const d of ['\t', ';'] as const) if (count[d] > count[best]) best = d;
  return best;
}

/** Parses one record starting at `first`; pulls more lines for quoted fields spanning newlines. */
async function parseRecord(first: Line, more: AsyncIterator<Line>, sep: Delimiter): Promise<CsvRecord> {
  const line = first.number;
  const broken = (bad: string): CsvRecord => ({ fields: [], line, delimiter: sep, bad });
  if (!first.text.includes('"')) return { fields: first.text.split(sep), line, delimiter: sep };
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
          if (next.done) return broken(`line ${line}: a quoted field is never closed; add the closing "`);
          if (next.value.bad) return broken(next.value.bad);
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
      if (i < text.length && text[i] !== sep) {
        return broken(`line ${line}, column ${i + 1}: unexpected text after a closing quote; quote the whole field and double inner quotes ("")`);
      }
    } else {
      const at = text.indexOf(sep, i);
      const end = at < 0 ? text.length : at;
      field = text.slice(i, end);
      if (field.includes('"')) {
        return broken(`line ${line}, column ${i + field.indexOf('"') + 1}: a quote inside an unquoted field; quote the whole field and double inner quotes ("")`);
      }
      i = end;
    }
    fields.push(field);
    field = '';
    if (i >= text.length) return { fields, line, delimiter: sep };
    i++; // the delimiter
    if (i === text.length) {
      fields.push('');
      return { fields, line, delimiter: sep };
    }
  }
}

/**
 * Records of a CSV file (the header is the first record). Blank lines are skipped. The delimiter is the one
 * given, else the file name's (.tsv), else the one a first line `sep=;` names (as Excel writes it), else the
 * header line's (detectDelimiter).
 */
export async function* readCsv(file: string, onBytes?: (bytesSoFar: number) => void, delimiter = delimiterFromPath(file)): AsyncGenerator<CsvRecord> {
  const lines = readLines(file, onBytes);
  let sep = delimiter;
  try {
    for (;;) {
      const next = await lines.next();
      if (next.done) return;
      const line = next.value;
      if (line.bad) yield { fields: [], line: line.number, delimiter: sep ?? ',', bad: line.bad };
      else if (line.text.trim() !== '') {
        if (sep === undefined) {
          // Excel's hint line `sep=;` names the delimiter and is not the header
          const hint = /^sep=([,;\t])$/.exec(line.text);
          sep = hint ? (hint[1] as Delimiter) : detectDelimiter(line.text);
          if (hint) continue;
        }
        yield await parseRecord(line, lines, sep);
      }
    }
  } finally {
    await lines.return(undefined); // closes the file when the caller stops early
  }
}
