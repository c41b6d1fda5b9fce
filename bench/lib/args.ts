// What every bench reads from its command line and reports: a flag's value (`--name value`) and the median of
// timed rounds. Benches are scripts run with tsx, so a flag they do not know is ignored, not refused.

/** The value after `--name` on the command line, or undefined when the flag is absent. */
export function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** The median of `xs` (the mean of the middle two for an even count; NaN when empty). */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
