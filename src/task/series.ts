// Series of sensor readings in a row's input text, found and rewritten in place: the unit the window augmentations
// (shift.ts, gain.ts) work on. A series is one channel over time, written along a line (at least SERIES_MIN numbers
// with one separator between them, e.g. `Proximity: [254, 253, …]`) or down the lines (at least SERIES_MIN
// consecutive lines of one shape, a timestep each, e.g. `[1014.5 33.9 27.02]`: each number position is a channel).

/** A series is this many readings or more: numbers along one line, or lines of one shape down the input. */
export const SERIES_MIN = 16;

/** What a series is, for messages that name it. */
export const SERIES_WORDS = `${SERIES_MIN} or more readings of one channel, along a line or one timestep per line`;

/** A number with an optional sign, decimals and exponent, as sensor logs write them. */
const NUMBER = /[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

/** A series' readings as written, in time order, to the same number of readings as written. */
export type SeriesMap = (readings: string[]) => string[];

/**
 * `text` with every series' readings replaced by `f` of them, series along lines first (in line order), then the
 * channels of each run of timestep lines (run by run, channel by channel). Everything else, separators included,
 * is kept character for character.
 */
export function mapSeries(text: string, f: SeriesMap): string {
  return mapRows(text.split('\n').map((line) => mapLine(line, f)), f).join('\n');
}

/** True when `text` holds a series (along a line or down the lines) that is not constant: one shift or gain can change. */
export function hasSeries(text: string): boolean {
  let found = false;
  mapSeries(text, (readings) => {
    found ||= readings.some((v) => v !== readings[0]);
    return readings;
  });
  return found;
}

/**
 * The line with each number replaced by '#' (a trailing CR left out): lines of one timestep each share it. Null when
 * the line has no number or is a series itself.
 */
function shape(line: string): string | null {
  const n = line.match(NUMBER)?.length ?? 0;
  return n > 0 && n < SERIES_MIN ? line.replace(NUMBER, '#').replace(/\r$/, '') : null;
}

/** Runs of SERIES_MIN or more consecutive lines of one shape: each number position is a channel, mapped down the run. */
function mapRows(lines: string[], f: SeriesMap): string[] {
  const shapes = lines.map(shape);
  const out = lines.slice();
  for (let a = 0; a < lines.length; ) {
    let b = a + 1;
    while (shapes[a] !== null && b < lines.length && shapes[b] === shapes[a]) b++;
    if (b - a >= SERIES_MIN) {
      const numbers = lines.slice(a, b).map((line) => line.match(NUMBER) as string[]);
      const channels = numbers[0].map((_, c) => f(numbers.map((row) => row[c])));
      for (let i = a; i < b; i++) {
        let c = 0;
        out[i] = lines[i].replace(NUMBER, () => channels[c++][i - a]);
      }
    }
    a = b;
  }
  return out;
}

function mapLine(line: string, f: SeriesMap): string {
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
      out += line.slice(done, found[a].index) + f(found.slice(a, b).map((m) => m[0])).join(sep);
      done = (found[b - 1].index as number) + found[b - 1][0].length;
    }
    a = b;
  }
  return out + line.slice(done);
}
