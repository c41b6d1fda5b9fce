// Reading a generated response as a label, two ways. Strict: the first line of the response, trimmed, equals
// the label. TinyLLM's rule: the label appears in the output exactly once, where an occurrence inside an
// occurrence of a longer label of the set does not count ("Tap" inside "Double tap" is not a Tap).

/** First line of a response, trimmed. */
export function firstLine(output: string): string {
  const nl = output.search(/\r?\n/);
  return (nl >= 0 ? output.slice(0, nl) : output).trim();
}

/** The strict reading: the first line if it is a label of the set, else null. */
export function readStrict(output: string, labels: readonly string[]): string | null {
  const line = firstLine(output);
  return labels.includes(line) ? line : null;
}

/** Non-overlapping occurrences of `label` in `output` that are not part of an occurrence of a longer label. */
export function countLabel(output: string, label: string, labels: readonly string[]): number {
  if (label === '') return 0;
  const covered: [number, number][] = [];
  for (const longer of labels) {
    if (longer.length <= label.length || !longer.includes(label)) continue;
    for (let i = output.indexOf(longer); i >= 0; i = output.indexOf(longer, i + 1)) covered.push([i, i + longer.length]);
  }
  let n = 0;
  for (let i = output.indexOf(label); i >= 0; ) {
    const end = i + label.length;
    if (covered.some(([a, b]) => a <= i && end <= b)) {
      i = output.indexOf(label, i + 1);
      continue;
    }
    n++;
    i = output.indexOf(label, end);
  }
  return n;
}

/** TinyLLM's rule: the true label appears in the output exactly once. */
export function tinyllmCorrect(output: string, label: string, labels: readonly string[]): boolean {
  return countLabel(output, label, labels) === 1;
}
