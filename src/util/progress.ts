// A progress line for long work: on a TTY it redraws one line with done/total, rate and ETA;
// when stderr is not a TTY (CI, pipes, logs) it stays quiet and prints one summary line at the end.
// Used by tokenizer training, data preparation and training.

export interface ProgressOptions {
  /** Unit shown after the rate, e.g. 'MB', 'tok', 'step'. */
  unit?: string;
  /** Divide raw counts by this for display (e.g. 1e6 for bytes shown as MB). */
  scale?: number;
  /** Where to write; defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  /** Force live redraws on (true) or off (false); defaults to stream.isTTY. */
  live?: boolean;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}

export class Progress {
  private readonly start = performance.now();
  private lastDraw = 0;
  private done = 0;
  private readonly unit: string;
  private readonly scale: number;
  private readonly stream: NodeJS.WriteStream;
  private readonly live: boolean;

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    opts: ProgressOptions = {},
  ) {
    this.unit = opts.unit ?? '';
    this.scale = opts.scale ?? 1;
    this.stream = opts.stream ?? process.stderr;
    this.live = opts.live ?? (Boolean(this.stream.isTTY) && !process.env.CI);
  }

  /** Sets the amount done so far (absolute), with an optional extra note; redraws at most 10 times a second. */
  update(done: number, note = ''): void {
    this.done = done;
    if (!this.live) return;
    const now = performance.now();
    if (now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[K${this.line(note)}`);
  }

  /** Text of the current line: `label done/total unit | rate unit/s | ETA`. */
  line(note = ''): string {
    const elapsed = (performance.now() - this.start) / 1000;
    const rate = elapsed > 0 ? this.done / this.scale / elapsed : 0;
    const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
    const count = (x: number) => (Number.isInteger(x) ? String(x) : fmt(x)); // 40/40 rows, not 40.0/40.0
    let s = `${this.label} ${count(this.done / this.scale)}`;
    if (this.total !== undefined) s += `/${count(this.total / this.scale)}`;
    s += ` ${this.unit} | ${fmt(rate)} ${this.unit}/s`;
    if (this.total !== undefined && this.done > 0) {
      s += ` | ETA ${formatDuration(((this.total - this.done) / this.done) * elapsed)}`;
    } else {
      s += ` | ${formatDuration(elapsed)}`;
    }
    return note ? `${s} | ${note}` : s;
  }

  /** Ends the line; prints a summary line in both modes. */
  finish(note = ''): void {
    const text = this.line(note);
    this.stream.write(this.live ? `\r\x1b[K${text}\n` : `${text}\n`);
  }
}
