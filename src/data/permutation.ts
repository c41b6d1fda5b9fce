// A seeded pseudo-random permutation of [0, n) computed one index at a time, with O(1) memory:
// a balanced Feistel network on the next power-of-four domain, with "cycle walking" to stay below n
// (Black & Rogaway, "Ciphers with arbitrary finite domains", 2002). The shard loader uses it to visit
// every window of an epoch exactly once in shuffled order without storing an index array.

const ROUNDS = 6;

function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d);
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Permutation {
  readonly n: number;
  private readonly halfBits: number;
  private readonly mask: number;
  private readonly keys: Uint32Array;

  /** A permutation of [0, n) determined by the two 32-bit words `seed` and `stream` (e.g. the epoch). */
  constructor(n: number, seed: number, stream = 0) {
    if (!Number.isInteger(n) || n < 1 || n > 2 ** 32) throw new RangeError(`Permutation: n must be an integer in [1, 2^32], got ${n}`);
    this.n = n;
    let bits = 2;
    while (2 ** bits < n) bits += 2;
    this.halfBits = bits / 2;
    this.mask = 2 ** this.halfBits - 1;
    this.keys = new Uint32Array(ROUNDS);
    let k = mix32((seed >>> 0) ^ mix32((stream >>> 0) + 0x9e3779b9));
    for (let r = 0; r < ROUNDS; r++) {
      k = mix32(k + 0x9e3779b9 + r);
      this.keys[r] = k;
    }
  }

  /** The image of index i (0 <= i < n). */
  at(i: number): number {
    let x = i;
    do x = this.encrypt(x);
    while (x >= this.n);
    return x;
  }

  private encrypt(x: number): number {
    const h = this.halfBits;
    const m = this.mask;
    let left = Math.floor(x / 2 ** h) & m;
    let right = x & m;
    for (let r = 0; r < ROUNDS; r++) {
      const next = (left ^ mix32(right ^ this.keys[r])) & m;
      left = right;
      right = next;
    }
    return left * 2 ** h + right;
  }
}
