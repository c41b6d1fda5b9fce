// Train/validation split by whole documents, decided by a seeded hash of each document's split key
// (its text, or its sample/block for sensor windows). The decision needs no look-ahead, so it streams;
// it does not depend on input order; and identical documents always land on the same side, so
// duplicates cannot leak validation text into training.
import type { Split } from './loader.js';

/** 32-bit FNV-1a over UTF-16 code units, seeded, with a final avalanche. */
export function hashKey(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ Math.imul(seed >>> 0, 0x9e3779b1)) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** 'val' for about `valFraction` of keys, chosen by `seed`. */
export function splitOf(key: string, valFraction: number, seed: number): Split {
  return hashKey(key, seed) / 4294967296 < valFraction ? 'val' : 'train';
}
