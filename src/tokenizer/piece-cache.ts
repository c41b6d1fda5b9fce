// The encoder's bounded word cache: piece of text -> token ids. Pieces are looked up as a range of the
// input string (hashed and compared in place, so a hit makes no substring), and ids live in one
// Int32Array pool. When it holds `maxEntries` pieces it is emptied and refills (like GPT-2's cache, bounded).

/** FNV-1a over the UTF-16 units of s[i, j). */
export function hashRange(s: string, i: number, j: number): number {
  let h = 0x811c9dc5 | 0;
  for (let k = i; k < j; k++) h = Math.imul(h ^ s.charCodeAt(k), 0x01000193);
  return h;
}

export class PieceCache {
  private readonly keys: Array<string | undefined>;
  private readonly hashes: Int32Array;
  private readonly starts: Int32Array;
  private readonly lens: Int32Array;
  private readonly mask: number;
  /** Token ids of all cached pieces; a slot's ids are pool[start(slot), start(slot) + len(slot)). */
  pool = new Int32Array(1 << 16);
  private used = 0;
  private size = 0;

  constructor(private readonly maxEntries: number) {
    let cap = 8;
    while (cap < maxEntries * 2) cap *= 2;
    this.keys = new Array<string | undefined>(cap).fill(undefined);
    this.hashes = new Int32Array(cap);
    this.starts = new Int32Array(cap);
    this.lens = new Int32Array(cap);
    this.mask = cap - 1;
  }

  /** Slot of the piece s[i, j) with hash h, or -1. */
  find(s: string, i: number, j: number, h: number): number {
    const n = j - i;
    for (let slot = h & this.mask; ; slot = (slot + 1) & this.mask) {
      const key = this.keys[slot];
      if (key === undefined) return -1;
      if (this.hashes[slot] === h && key.length === n) {
        let k = 0;
        while (k < n && key.charCodeAt(k) === s.charCodeAt(i + k)) k++;
        if (k === n) return slot;
      }
    }
  }

  /** Stores ids[0, count) for the piece s[i, j) (not present) with hash h; returns its slot. */
  add(s: string, i: number, j: number, h: number, ids: Int32Array, count: number): number {
    if (this.size >= this.maxEntries) this.clear();
    if (this.used + count > this.pool.length) {
      const grown = new Int32Array(Math.max(this.pool.length * 2, this.used + count));
      grown.set(this.pool.subarray(0, this.used));
      this.pool = grown;
    }
    let slot = h & this.mask;
    while (this.keys[slot] !== undefined) slot = (slot + 1) & this.mask;
    this.keys[slot] = s.slice(i, j);
    this.hashes[slot] = h;
    this.starts[slot] = this.used;
    this.lens[slot] = count;
    this.pool.set(ids.subarray(0, count), this.used);
    this.used += count;
    this.size++;
    return slot;
  }

  start(slot: number): number {
    return this.starts[slot];
  }

  len(slot: number): number {
    return this.lens[slot];
  }

  clear(): void {
    this.keys.fill(undefined);
    this.used = 0;
    this.size = 0;
  }
}
