// A binary min-heap of (priority, key) number pairs, ordered by priority then key: the BPE encoder
// uses it for long pieces (rank, position) and the BPE trainer for the next pair to merge
// (-count, pair). Entries are never updated in place; callers re-check popped entries (lazy deletion).

export class PairHeap {
  private prio: number[] = [];
  private keys: number[] = [];

  get size(): number {
    return this.prio.length;
  }

  clear(): void {
    this.prio.length = 0;
    this.keys.length = 0;
  }

  private less(i: number, j: number): boolean {
    const a = this.prio[i];
    const b = this.prio[j];
    return a < b || (a === b && this.keys[i] < this.keys[j]);
  }

  private swap(i: number, j: number): void {
    const p = this.prio[i];
    this.prio[i] = this.prio[j];
    this.prio[j] = p;
    const k = this.keys[i];
    this.keys[i] = this.keys[j];
    this.keys[j] = k;
  }

  push(priority: number, key: number): void {
    let i = this.prio.length;
    this.prio.push(priority);
    this.keys.push(key);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Priority of the smallest entry (undefined when empty). */
  peekPriority(): number | undefined {
    return this.prio[0];
  }

  /** Key of the smallest entry (undefined when empty). */
  peekKey(): number | undefined {
    return this.keys[0];
  }

  /** Removes the smallest entry. */
  pop(): void {
    const last = this.prio.length - 1;
    this.swap(0, last);
    this.prio.pop();
    this.keys.pop();
    const n = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const m = l + 1 < n && this.less(l + 1, l) ? l + 1 : l;
      if (!this.less(m, i)) break;
      this.swap(i, m);
      i = m;
    }
  }
}
