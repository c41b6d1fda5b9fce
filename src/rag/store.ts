// The retrieval store file (.tlx): one self-describing file. Layout (little-endian):
//   0  8 bytes  magic "TLLMRAG\0"
//   8  u32      version (2; version 1 files, which lack the checksum and start the header at 16, are still read)
//  12  u32      header bytes H
//  16  u32      CRC-32 of the H header bytes
//  20  H bytes  JSON header (UTF-8): format, version, key (kind and what recomputing a query key needs), the rows
//               (instruction, input, output), and the blobs' places; padded with spaces to a multiple of 8
//  20+H        blobs, each at an 8-byte-aligned offset relative to here: "keys" = (count, dim) float64, row-major
// BM25 stores no key blob: its index is rebuilt from the rows' texts on open (a few ms per thousand rows).
import * as fs from 'node:fs';
import type { GPT2Config } from '../models/gpt2/config.js';
import type { SequenceStart } from '../task/sequence.js';
import { crc32 } from '../util/crc32.js';
import { oneLine, UserError } from '../util/errors.js';
import { writeAtomically } from '../util/fs.js';
import { isCount, isObject } from '../util/guards.js';

export const STORE_MAGIC = 'TLLMRAG\0';
export const STORE_VERSION = 2;
/** Bytes before the JSON header: magic, version, header bytes and (version 2) the header's CRC-32. */
const preambleBytes = (version: number) => (version === 1 ? 16 : 20);
export const STORE_FORMAT = 'tinyllm-rag';

export type KeyKind = 'numbers' | 'bm25' | 'embed';
export const KEY_KINDS: readonly KeyKind[] = ['numbers', 'bm25', 'embed'];

export type KeySpec =
  | { kind: 'numbers'; mean: number[]; std: number[]; trainMismatched: number }
  | { kind: 'bm25'; k1: number; b: number }
  | { kind: 'embed'; layer: number; model: string; config: GPT2Config; tokenizer: string; sequenceStart: SequenceStart; allowSpecial: boolean };

export interface StoredRow {
  instruction: string;
  input: string;
  /** '' for a passage of a text corpus (no label). */
  output: string;
}

export interface Store {
  key: KeySpec;
  /** Where the rows came from (the indexed file, as given). */
  source: string;
  /** True when every row has an answer (a task file); false for a text corpus. */
  labelled: boolean;
  rows: StoredRow[];
  /** Numbers per key (0 for bm25). */
  dim: number;
  /** (rows, dim) keys; empty for bm25. */
  keys: Float64Array;
}

const pad8 = (n: number) => (n + 7) & ~7;

/** Writes the store atomically (temp file + rename). */
export function writeStore(file: string, s: Store): void {
  if (s.keys.length !== s.rows.length * s.dim) throw new Error(`writeStore: ${s.keys.length} key numbers for ${s.rows.length} rows × ${s.dim}`);
  const head = { format: STORE_FORMAT, version: STORE_VERSION, source: s.source, labelled: s.labelled, key: s.key, count: s.rows.length, dim: s.dim, blobs: { keys: { offset: 0, bytes: s.keys.byteLength, dtype: 'f64' } }, rows: s.rows };
  let json = Buffer.from(JSON.stringify(head), 'utf8');
  const P = preambleBytes(STORE_VERSION);
  json = Buffer.concat([json, Buffer.alloc(pad8(P + json.length) - P - json.length, 0x20)]);
  const pre = Buffer.alloc(P);
  pre.write(STORE_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(STORE_VERSION, 8);
  pre.writeUInt32LE(json.length, 12);
  pre.writeUInt32LE(crc32(json), 16);
  writeAtomically(file, (w) => {
    w.write(pre);
    w.write(json);
    w.write(new Uint8Array(s.keys.buffer, s.keys.byteOffset, s.keys.byteLength));
  });
}

/** Reads and checks a store; any problem is a UserError naming the file. */
export function readStore(file: string): Store {
  const bad = (m: string) => new UserError(oneLine(`${file}: ${m}`));
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) throw bad('no such store file; build one with tinyllm index <task file> -o <store.tlx>');
  const bytes = fs.readFileSync(file);
  if (bytes.length < 16 || bytes.toString('latin1', 0, 8) !== STORE_MAGIC) throw bad('not a tinyllm retrieval store (bad magic); build one with tinyllm index');
  const version = bytes.readUInt32LE(8);
  if (version < 1 || version > STORE_VERSION) throw bad(`store version ${version} is not supported (this tinyllm reads versions 1 to ${STORE_VERSION}); rebuild it with tinyllm index`);
  const P = preambleBytes(version);
  const H = bytes.readUInt32LE(12);
  if (P + H > bytes.length) throw bad(`header of ${H} bytes runs past the end of the ${bytes.length}-byte file (truncated?); rebuild it with tinyllm index`);
  if (version >= 2 && crc32(bytes.subarray(P, P + H)) !== bytes.readUInt32LE(16)) throw bad('header checksum mismatch: the header is corrupted; rebuild the store with tinyllm index');
  let h: unknown;
  try {
    h = JSON.parse(bytes.toString('utf8', P, P + H));
  } catch (e) {
    throw bad(`header is not valid JSON (${(e as Error).message}); the file is damaged, rebuild it with tinyllm index`);
  }
  if (!isObject(h) || h.format !== STORE_FORMAT || h.version !== version) throw bad(`header is not a ${STORE_FORMAT} version ${version} header; rebuild it with tinyllm index`);
  const { count, dim, rows, blobs } = h;
  if (!isCount(count) || !isCount(dim) || dim > 1 << 16) throw bad('header: count and dim must be counts (dim ≤ 65536)');
  if (!Array.isArray(rows) || rows.length !== count) throw bad(`header: ${count} rows announced, ${Array.isArray(rows) ? rows.length : 'no'} rows found`);
  rows.forEach((r, i) => {
    if (!isObject(r) || typeof r.instruction !== 'string' || typeof r.input !== 'string' || typeof r.output !== 'string') throw bad(`header: row ${i + 1} needs string instruction, input and output`);
  });
  const key = checkKey(h.key, dim, bad);
  const blob = isObject(blobs) ? blobs.keys : undefined;
  if (!isObject(blob) || !isCount(blob.offset) || !isCount(blob.bytes) || blob.dtype !== 'f64' || blob.offset % 8 !== 0) throw bad('header: blobs.keys needs an 8-aligned offset, bytes and dtype f64');
  if (blob.bytes !== count * dim * 8) throw bad(`header: the keys blob has ${blob.bytes} bytes, not ${count} rows × ${dim} × 8`);
  const start = P + H + blob.offset;
  if (start + blob.bytes > bytes.length) throw bad(`the keys blob runs past the end of the file (${start + blob.bytes} > ${bytes.length} bytes; truncated?)`);
  const keys = new Float64Array(count * dim);
  new Uint8Array(keys.buffer).set(bytes.subarray(start, start + blob.bytes));
  for (let i = 0; i < keys.length; i++) if (!Number.isFinite(keys[i])) throw bad(`keys: row ${Math.floor(i / dim) + 1} holds a non-finite number`);
  const labelled = h.labelled === true;
  if (labelled && (rows as StoredRow[]).some((r) => r.output === '')) throw bad('header: a labelled store has a row without an answer');
  return { key, source: typeof h.source === 'string' ? h.source : '', labelled, rows: rows as StoredRow[], dim, keys };
}

const isNumberArray = (x: unknown, n: number): x is number[] => Array.isArray(x) && x.length === n && x.every((v) => typeof v === 'number' && Number.isFinite(v));

function checkKey(k: unknown, dim: number, bad: (m: string) => UserError): KeySpec {
  if (!isObject(k) || !(KEY_KINDS as readonly unknown[]).includes(k.kind)) throw bad(`header: key.kind must be one of ${KEY_KINDS.join(', ')}`);
  if (k.kind === 'numbers') {
    if (!isNumberArray(k.mean, dim) || !isNumberArray(k.std, dim) || k.std.some((s) => s < 0)) throw bad(`header: a numbers key needs mean and std (≥ 0) of ${dim} numbers`);
    return { kind: 'numbers', mean: k.mean, std: k.std, trainMismatched: isCount(k.trainMismatched) ? k.trainMismatched : 0 };
  }
  if (k.kind === 'bm25') {
    if (dim !== 0 || typeof k.k1 !== 'number' || typeof k.b !== 'number' || !(k.k1 >= 0) || !(k.b >= 0 && k.b <= 1)) throw bad('header: a bm25 key needs dim 0, k1 ≥ 0 and b in [0, 1]');
    return { kind: 'bm25', k1: k.k1, b: k.b };
  }
  const c = k.config;
  if (!isObject(c) || c.nEmbd !== dim || !isCount(k.layer) || typeof k.model !== 'string' || typeof k.tokenizer !== 'string' || (k.sequenceStart !== 'endoftext' && k.sequenceStart !== 'none')) {
    throw bad(`header: an embed key needs layer, model, tokenizer, sequenceStart and the model config with nEmbd = dim (${dim})`);
  }
  return { kind: 'embed', layer: k.layer, model: k.model, config: c as unknown as GPT2Config, tokenizer: k.tokenizer, sequenceStart: k.sequenceStart, allowSpecial: k.allowSpecial === true };
}
