// Time shift, a training-time augmentation for windows of sensor readings: every series in a row's input moves by the
// same number of readings, the vacated end repeating the edge reading: the "window slicing"/shift augmentation of
// sensor time series (Um et al. 2017), in text. A series is a channel over time written along a line (at least
// SERIES_MIN numbers with one separator between them, e.g. `Proximity: [254, 253, …]`) or down the lines (at least
// SERIES_MIN lines of the same shape, one timestep each, e.g. `[1014.5 33.9 27.02]`). A model then sees each gesture
// at more places in its window.

/** A series is this many readings or more: numbers along one line, or lines of one shape down the input. */
export const SERIES_MIN = 16;

/** A number with an optional sign, decimals and exponent, as sensor logs write them. */
const NUMBER = /[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

/**
 * `text` with every series shifted by `d` readings (d > 0: later, the first reading repeated d times at the start;
 * d < 0: earlier, the last repeated at the end). All series of a row move together, so channels recorded side by
 * side stay aligned. Separators and everything around the series are kept character for character; a timestep
 * written as a line moves as a whole line.
 */
export function shiftSeries(text: string, d: number): string {
  if (d === 0) return text;
  return shiftRows(text.split('\n').map((line) => shiftLine(line, d)), d).join('\n');
}

/** True when a shift by one reading either way changes `text`: it holds a series (along a line or down the lines) that is not constant. */
export function shiftable(text: string): boolean {
  return shiftSeries(text, 1) !== text || shiftSeries(text, -1) !== text;
}

/** What a series is, for messages that name it. */
export const SERIES_WORDS = `${SERIES_MIN} or more readings of one channel, along a line or one timestep per line`;

/**
 * The line with each number replaced by '#' (a trailing CR left out): lines of one timestep each share it. Null when
 * the line has no number or is a series itself.
 */
function shape(line: string): string | null {
  const n = line.match(NUMBER)?.length ?? 0;
  return n > 0 && n < SERIES_MIN ? line.replace(NUMBER, '#').replace(/\r$/, '') : null;
}

/** Runs of SERIES_MIN or more consecutive lines of one shape (one timestep per line) moved by d lines, the edge line repeated. */
function shiftRows(lines: string[], d: number): string[] {
  const shapes = lines.map(shape);
  const out = lines.slice();
  for (let a = 0; a < lines.length; ) {
    let b = a + 1;
    while (shapes[a] !== null && b < lines.length && shapes[b] === shapes[a]) b++;
    if (b - a >= SERIES_MIN) for (let i = a; i < b; i++) out[i] = lines[Math.min(b - 1, Math.max(a, i - d))];
    a = b;
  }
  return out;
}

function shiftLine(line: string, d: number): string {
  const found = [...line.matchAll(NUMBER)];
  if (found.length < SERIES_MIN) return line;
  let out = '';
  let done = 0; // characters of `line` already written
  // maximal runs of numbers with the same non-empty separator between neighbours
  for (let a = 0; a < found.length; ) {
    const sepOf = (i: number) => line.slice((found[i].index as number) + found[i][0].length, found[i + 1].index);
    const sep = a + 1 < found.length ? sepOf(a) : '';
    let b = a + 1;
    while (b < found.length && sep !== '' && sepOf(b - 1) === sep) b++;
    if (b - a >= SERIES_MIN) {
      const values = found.slice(a, b).map((m) => m[0]);
      const n = values.length;
      const moved = values.map((_, i) => values[Math.min(n - 1, Math.max(0, i - d))]);
      out += line.slice(done, found[a].index) + moved.join(sep);
      done = (found[b - 1].index as number) + found[b - 1][0].length;
    }
    a = b;
  }
  return out + line.slice(done);
}
