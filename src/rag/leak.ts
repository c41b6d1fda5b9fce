// Leak detection: a row being evaluated whose instruction and input are also in the store would retrieve its
// own answer and make retrieval look perfect. Rows match when their instruction and input are equal after
// trimming and collapsing runs of whitespace (a copy re-saved with other line endings still matches).
import type { TaskFields } from '../task/template.js';

const norm = (s: string) => s.trim().replace(/\s+/g, ' ');

/** The identity of a row for leak detection. */
export function leakKey(e: TaskFields): string {
  return `${norm(e.instruction)}\u0000${norm(e.input)}`;
}

/** For each query, the store rows identical to it (empty set when none). */
export function findLeaks(store: readonly TaskFields[], queries: readonly TaskFields[]): ReadonlySet<number>[] {
  const byKey = new Map<string, number[]>();
  store.forEach((r, i) => {
    const k = leakKey(r);
    const l = byKey.get(k);
    if (l) l.push(i);
    else byKey.set(k, [i]);
  });
  return queries.map((q) => new Set(byKey.get(leakKey(q)) ?? []));
}
