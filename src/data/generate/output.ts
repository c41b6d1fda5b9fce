// Writers the dataset generators share: a CSV table and a prompt/answer JSONL file, each streamed
// in buffered chunks through an AtomicWriter so a generated file appears whole or not at all.
import { AtomicWriter } from '../../util/fs.js';

/** Streams text lines into `path` atomically; call `commit()` at the end (or `abort()`). */
export class LineFileWriter {
  private readonly w: AtomicWriter;
  private buf: string[] = [];
  private size = 0;
  lines = 0;

  constructor(path: string) {
    this.w = new AtomicWriter(path);
  }

  line(text: string): void {
    this.buf.push(text, '\n');
    this.size += text.length + 1;
    this.lines++;
    if (this.size >= 1 << 20) this.flush();
  }

  private flush(): void {
    if (this.buf.length) this.w.write(Buffer.from(this.buf.join(''), 'utf8'));
    this.buf = [];
    this.size = 0;
  }

  commit(): void {
    this.flush();
    this.w.commit();
  }

  abort(): void {
    this.w.abort();
  }
}

/** Quotes a CSV field when it needs it (RFC 4180). */
export function csvField(s: string): string {
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Runs `fill` with fresh writers for each path and commits them all, or aborts them all on error. */
export function writeFiles(paths: readonly string[], fill: (writers: LineFileWriter[]) => void): void {
  const writers: LineFileWriter[] = [];
  try {
    for (const p of paths) writers.push(new LineFileWriter(p));
    fill(writers);
    for (const w of writers) w.commit();
  } catch (e) {
    for (const w of writers) w.abort();
    throw e;
  }
}
