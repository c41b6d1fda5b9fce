// An open-addressing hash table from a pair of token ids (left, right) to a value (a merge rank):
// the BPE encoder's inner-loop lookup, kept in three Int32Arrays so lookups never allocate or box
// (a Map keyed by left * V + right overflows V8's small integers for a 50k vocabulary).

export class PairTable {
  private readonly left: Int32Array;
  private readonly right: Int32Array;
  private readonly value: Int32Array;
  private readonly mask: number;
  size = 0;

  constructor(expectedSize: number) {
    let cap = 16;
    while (cap < expectedSize * 2) cap *= 2;
    this.left = new Int32Array(cap).fill(-1);
    this.right = new Int32Array(cap);
    this.value = new Int32Array(cap);
    this.mask = cap - 1;
  }

  private slot(a: number, b: number): number {
    return (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;
  }

  /** Sets the value of (a, b) unless the pair is already present; returns false if it was. */
  add(a: number, b: number, v: number): boolean {
    if (this.size * 2 >= this.mask + 1) throw new Error('PairTable: full (constructed with a too small expectedSize)');
    for (let i = this.slot(a, b) & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.left[i];
      if (l === -1) {
        this.left[i] = a;
        this.right[i] = b;
        this.value[i] = v;
        this.size++;
        return true;
      }
      if (l === a && this.right[i] === b) return false;
    }
  }

  /** Value of (a, b), or -1 if absent. */
  get(a: number, b: number): number {
    for (let i = this.slot(a, b) & this.mask; ; i = (i + 1) & this.mask) {
      const l = this.left[i];
      if (l === -1) return -1;
      if (l === a && this.right[i] === b) return this.value[i];
    }
  }
}
