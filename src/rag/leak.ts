// Leak detection: a row being evaluated whose instruction and input are also in the store would retrieve its
// own answer and make retrieval look perfect. Rows match when their instruction and input are equal after
// trimming and collapsing runs of whitespace (a copy re-saved with other line endings still matches).
import type { TaskFields } from '../task/template.js';

const norm = (s: string) => s.trim().replace(/\s+/g, ' ');

/** The identity of a row for leak detection. */
export function leakKey(e: TaskFields): string {
  return `${norm(e.instruction)}\u0000${norm(e.input)}`;
}

/** A lookup of the store rows identical to a query (an empty set when none). */
export function leakIndex(store: readonly TaskFields[]): (query: TaskFields) => ReadonlySet<number> {
  const byKey = new Map<string, Set<number>>();
  store.forEach((r, i) => {
    const k = leakKey(r);
    const l = byKey.get(k);
    if (l) l.add(i);
    else byKey.set(k, new Set([i]));
  });
  const none: ReadonlySet<number> = new Set();
  return (q) => byKey.get(leakKey(q)) ?? none;
}

/** For each query, the store rows identical to it (empty set when none). */
export function findLeaks(store: readonly TaskFields[], queries: readonly TaskFields[]): ReadonlySet<number>[] {
  return queries.map(leakIndex(store));
}
