// The .tllm deployment file: one self-describing GPT-2 model for the runtime (src/runtime). Layout, all
// little-endian: magic "TLLMODEL" (8 bytes), u32 version, u32 header length, u32 CRC-32 of the header (version 2;
// version 1 files have no checksum and are still read), a UTF-8 JSON header (config,
// tokenizer, quantization scheme, optional fine-tune fields, tensor table), then each tensor at a 64-byte
// aligned file offset, so a reader loads the file into one 64-byte aligned buffer and views every tensor in
// place (no per-tensor copy). Int8 tensors carry a companion '<name>.scale' f32 tensor. Like safetensors and GGUF.
import * as fs from 'node:fs';
import { numTensors, paramSpecs, validateConfig, type GPT2Config } from '../models/gpt2/config.js';
import { crc32 } from '../util/crc32.js';
import { clip, oneLine, quoteValue, UserError } from '../util/errors.js';
import { writeAtomically } from '../util/fs.js';
import { openForRead, readExact } from './binary.js';
import { groupsPerRow, INT8_GROUPS, type Int8Group } from './quantize.js';
import { templateFromObject, templateObject, type PromptTemplate } from '../task/template.js';

export const TLLM_MAGIC = 'TLLMODEL';
/** Version 2 adds the header checksum; version 1 files are still read. */
export const TLLM_VERSION = 2;
/** Alignment of the data section and of every tensor in the file (a cache line; SIMD loads). */
export const TLLM_ALIGN = 64;
const PREAMBLE_V1 = 16; // magic + version + header length (every version starts so)
const PREAMBLE = 20; // version 2: + the header's CRC-32
const preambleBytes = (version: number) => (version === 1 ? PREAMBLE_V1 : PREAMBLE);
/** The tensor holding an embedded Hugging Face tokenizer.json (UTF-8 bytes). */
export const TOKENIZER_TENSOR = 'tokenizer.json';

export type TllmDtype = 'f32' | 'f16' | 'i8' | 'u8';
const DTYPE_BYTES: Record<TllmDtype, number> = { f32: 4, f16: 2, i8: 1, u8: 1 };
/** How a weight kind is stored: f32, f16, or int8 with scales. */
export type StorageKind = 'f32' | 'f16' | 'int8';

export interface TllmTensorEntry {
  name: string;
  dtype: TllmDtype;
  shape: number[];
  /** Absolute file offset (a multiple of TLLM_ALIGN). */
  offset: number;
  bytes: number;
  /** i8 tensors: values per scale along a row (0 = per row); the scales are tensor `${name}.scale`. */
  group?: Int8Group;
}

/** Optional fields a fine-tuned model carries (filled from its run folder); readers ignore unknown keys. */
export interface TllmFinetune {
  /**
   * The fine-tune's prompt template (src/task/template.ts), stored as its JSON form {"format": "tinyllm-template",
   * "version": 1, …}. An older file's string ('…{instruction}…{input}…') is read into this form (legacyTemplate).
   */
  promptTemplate?: PromptTemplate;
  /** What starts every sequence: 'endoftext' (also spelled '<|endoftext|>') or 'none' (also ''). */
  startRule?: string;
  /** Special-token text in a request becomes special tokens, as in fine-tuning (default false). */
  allowSpecial?: boolean;
  /** Class labels of a classification fine-tune, in order. */
  labels?: string[];
  /** Instruction of a request that gives none: the training rows' most common (task.json requestInstruction). */
  instruction?: string;
  [key: string]: unknown;
}

export interface TllmHeader {
  format: 'tinyllm-model';
  config: GPT2Config;
  /** Storage of the matrices (weights) and of the token embedding / tied LM head (embedding); int8 group size. */
  /** `layers`: per-block storage of a mixed file (some blocks kept f32); absent when every block is `weights`. */
  quantization: { weights: StorageKind; embedding: StorageKind; group: Int8Group; layers?: StorageKind[] };
  /** 'gpt2' (shipped with tinyllm) or the name of the tensor holding an embedded tokenizer.json. */
  tokenizer: { name: 'gpt2' } | { tensor: string };
  finetune?: TllmFinetune;
  /** Free-form provenance (source path, format, export date). */
  source?: Record<string, unknown>;
  tensors: TllmTensorEntry[];
}

export type TllmData = Float32Array | Uint16Array | Int8Array | Uint8Array;

export interface TensorToStore {
  name: string;
  dtype: TllmDtype;
  shape: number[];
  data: TllmData;
  group?: Int8Group;
}

const alignUp = (n: number) => Math.ceil(n / TLLM_ALIGN) * TLLM_ALIGN;

function bytesOf(a: TllmData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Header bytes (preamble + JSON padded with spaces) and the header with tensor offsets filled in. */
export function encodeTllmHeader(meta: Omit<TllmHeader, 'tensors'>, tensors: readonly TensorToStore[]): { bytes: Uint8Array; header: TllmHeader } {
  const entries: TllmTensorEntry[] = tensors.map((t) => ({
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    offset: 0,
    bytes: t.data.byteLength,
    ...(t.group !== undefined ? { group: t.group } : {}),
  }));
  // offsets depend on the header's length, which depends on the offsets' digits: iterate until stable
  let dataStart = 0;
  for (;;) {
    let at = dataStart;
    for (const e of entries) {
      e.offset = at;
      at = alignUp(at + e.bytes);
    }
    const json = new TextEncoder().encode(JSON.stringify({ ...meta, ...(meta.finetune ? { finetune: storedFinetune(meta.finetune) } : {}), tensors: entries }));
    const need = alignUp(PREAMBLE + json.byteLength);
    if (need === dataStart) {
      const bytes = new Uint8Array(need).fill(0x20);
      bytes.set(new TextEncoder().encode(TLLM_MAGIC), 0);
      const dv = new DataView(bytes.buffer);
      dv.setUint32(8, TLLM_VERSION, true);
      dv.setUint32(12, json.byteLength, true);
      dv.setUint32(16, crc32(json), true);
      bytes.set(json, PREAMBLE);
      return { bytes, header: { ...meta, tensors: entries } };
    }
    dataStart = need;
  }
}

/** The fine-tune fields as the header stores them (the template in its JSON form). */
function storedFinetune(f: TllmFinetune): Record<string, unknown> {
  return f.promptTemplate ? { ...f, promptTemplate: templateObject(f.promptTemplate) } : f;
}

/** Writes a .tllm file atomically (temp file + rename). Returns the header as written. */
export function writeTllm(file: string, meta: Omit<TllmHeader, 'tensors'>, tensors: readonly TensorToStore[]): TllmHeader {
  for (const t of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== n) throw new Error(`writeTllm: tensor ${t.name} has ${t.data.length} values, shape [${t.shape}] needs ${n}`);
  }
  const { bytes, header } = encodeTllmHeader(meta, tensors);
  writeAtomically(file, (w) => {
    w.write(bytes);
    for (const [i, t] of tensors.entries()) {
      const pad = header.tensors[i].offset - w.bytesWritten;
      if (pad > 0) w.write(new Uint8Array(pad));
      w.write(bytesOf(t.data));
    }
  });
  return header;
}

/** A loaded .tllm: the header and typed views into the one buffer holding the whole file. */
export interface TllmFile {
  file: string;
  header: TllmHeader;
  /** The whole file. */
  bytes: Uint8Array;
  /** The tensor's values in place (throws a UserError naming the file when it is missing). */
  tensor(name: string): TllmData;
  has(name: string): boolean;
}

export interface ReadTllmOptions {
  /**
   * Supplies the buffer the file is read into, 64-byte aligned (e.g. the kernels' shared arena, so weights
   * are used where they lie). Default: a new ArrayBuffer.
   */
  alloc?: (bytes: number) => Uint8Array;
  /** Called with the file size once the preamble checks out, before the buffer is allocated (memory preflight). */
  beforeAlloc?: (bytes: number) => void;
}

/** True when the file at `p` starts with the .tllm magic. */
export function isTllm(p: string): boolean {
  if (!fs.statSync(p, { throwIfNoEntry: false })?.isFile()) return false;
  const fd = openForRead(p);
  try {
    const head = Buffer.alloc(8);
    return fs.readSync(fd, head, 0, 8, 0) === 8 && head.toString('latin1') === TLLM_MAGIC;
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and checks the preamble of the open file: the file size, where the JSON header starts and its length. */
function readPreamble(fd: number, file: string): { size: number; start: number; len: number } {
  const size = fs.fstatSync(fd).size;
  const pre = new Uint8Array(PREAMBLE_V1);
  if (size < PREAMBLE_V1) throw bad(file, `only ${size} bytes; a .tllm file starts with a ${PREAMBLE}-byte preamble`);
  readExact(fd, pre, 0, file, 'the preamble');
  return { size, ...checkPreamble(file, pre, size) };
}

/** Reads and validates only the header of a .tllm file (config, quantization, tensor table), not its tensors. */
export function readTllmHeader(file: string): TllmHeader {
  const fd = openForRead(file);
  try {
    const { size, start, len } = readPreamble(fd, file);
    const head = new Uint8Array(start + len);
    readExact(fd, head, 0, file, 'the header');
    return decodeHeader(file, head, size);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads and validates a .tllm file; every problem is a UserError naming the file and the field. */
export function readTllm(file: string, opts: ReadTllmOptions = {}): TllmFile {
  const fd = openForRead(file);
  let bytes: Uint8Array;
  try {
    const { size } = readPreamble(fd, file);
    opts.beforeAlloc?.(size);
    bytes = opts.alloc ? opts.alloc(size) : new Uint8Array(size);
    if (bytes.byteLength !== size || bytes.byteOffset % TLLM_ALIGN !== 0) throw new Error(`readTllm: alloc must return ${size} bytes at a ${TLLM_ALIGN}-byte aligned offset`);
    readExact(fd, bytes, 0, file, 'the model');
  } finally {
    fs.closeSync(fd);
  }
  return parseTllm(file, bytes);
}

function bad(file: string, what: string): UserError {
  return new UserError(`${file}: ${what}; re-export the model with 'tinyllm export' (the file may be damaged or from another program)`);
}

/** Checks magic, version and header length (the first PREAMBLE_V1 bytes); returns where the JSON header starts and its length. */
function checkPreamble(file: string, pre: Uint8Array, size: number): { version: number; start: number; len: number } {
  const magic = new TextDecoder().decode(pre.subarray(0, 8));
  if (magic !== TLLM_MAGIC) throw bad(file, `not a .tllm model (magic ${quoteValue(magic)}, expected "${TLLM_MAGIC}")`);
  const dv = new DataView(pre.buffer, pre.byteOffset, PREAMBLE_V1);
  const version = dv.getUint32(8, true);
  if (version < 1 || version > TLLM_VERSION) {
    throw new UserError(`${file}: .tllm version ${version}, this tinyllm reads versions 1 to ${TLLM_VERSION}; ${version > TLLM_VERSION ? 'upgrade tinyllm' : 're-export the model'}`);
  }
  const start = preambleBytes(version);
  const len = dv.getUint32(12, true);
  if (start + len > size) throw bad(file, `header of ${len} bytes runs past the end of the ${size}-byte file (truncated?)`);
  return { version, start, len };
}

/** The validated header of a `size`-byte file whose first bytes (preamble + JSON header at least) are `bytes`. */
function decodeHeader(file: string, bytes: Uint8Array, size: number): TllmHeader {
  const { version, start, len } = checkPreamble(file, bytes, size);
  const json = bytes.subarray(start, start + len);
  if (version >= 2 && crc32(json) !== new DataView(bytes.buffer, bytes.byteOffset + 16, 4).getUint32(0, true)) {
    throw bad(file, 'header checksum mismatch: the header is corrupted');
  }
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(json));
  } catch (e) {
    throw bad(file, `header is not valid UTF-8 JSON (${oneLine((e as Error).message)})`);
  }
  return checkHeader(file, raw, start, size);
}

/** Validates a whole .tllm file held in `bytes` (see readTllm). */
export function parseTllm(file: string, bytes: Uint8Array): TllmFile {
  if (bytes.byteLength < PREAMBLE_V1) throw bad(file, `only ${bytes.byteLength} bytes; a .tllm file starts with a ${PREAMBLE}-byte preamble`);
  const header = decodeHeader(file, bytes, bytes.byteLength);
  const byName = new Map(header.tensors.map((t) => [t.name, t]));
  const view = (name: string): TllmData => {
    const e = byName.get(name);
    if (!e) throw bad(file, `tensor '${clip(name)}' is missing`);
    const at = bytes.byteOffset + e.offset;
    const n = e.bytes / DTYPE_BYTES[e.dtype];
    if (e.dtype === 'f32') return new Float32Array(bytes.buffer, at, n);
    if (e.dtype === 'f16') return new Uint16Array(bytes.buffer, at, n);
    if (e.dtype === 'i8') return new Int8Array(bytes.buffer, at, n);
    return new Uint8Array(bytes.buffer, at, n);
  };
  return { file, header, bytes, tensor: view, has: (name) => byName.has(name) };
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

function checkHeader(file: string, raw: unknown, start: number, size: number): TllmHeader {
  const fail = (what: string) => bad(file, `header ${what}`);
  if (!isObj(raw) || raw.format !== 'tinyllm-model') throw fail(`field "format" must be "tinyllm-model"`);
  const c = raw.config;
  if (!isObj(c)) throw fail('field "config" must be an object');
  for (const k of ['blockSize', 'vocabSize', 'nLayer', 'nHead', 'nEmbd']) {
    if (!isCount(c[k]) || (c[k] as number) < 1) throw fail(`config.${k} must be a positive integer, got ${quoteValue(c[k])}`);
  }
  const config = { blockSize: c.blockSize, vocabSize: c.vocabSize, nLayer: c.nLayer, nHead: c.nHead, nEmbd: c.nEmbd } as GPT2Config;
  try {
    validateConfig(config);
  } catch (e) {
    throw fail(oneLine((e as Error).message));
  }
  const q = raw.quantization;
  const kinds = ['f32', 'f16', 'int8'];
  if (!isObj(q) || !kinds.includes(q.weights as string) || !kinds.includes(q.embedding as string) || !INT8_GROUPS.includes(q.group as Int8Group)) {
    throw fail(`field "quantization" must be {weights, embedding: f32|f16|int8, group: ${INT8_GROUPS.join('|')}}, got ${quoteValue(q)}`);
  }
  const tok = raw.tokenizer;
  if (!isObj(tok) || !(tok.name === 'gpt2' || typeof tok.tensor === 'string')) throw fail(`field "tokenizer" must be {"name": "gpt2"} or {"tensor": <name>}, got ${quoteValue(tok)}`);
  const finetune = raw.finetune === undefined ? undefined : readFinetune(fail, raw.finetune);
  if (!Array.isArray(raw.tensors)) throw fail('field "tensors" must be an array');
  const seen = new Set<string>();
  const tensors = raw.tensors.map((t: unknown, i: number): TllmTensorEntry => {
    const where = `tensors[${i}]`;
    if (!isObj(t) || typeof t.name !== 'string' || !(typeof t.dtype === 'string' && t.dtype in DTYPE_BYTES)) {
      throw fail(`${where} must have a string "name" and a dtype among ${Object.keys(DTYPE_BYTES).join(', ')}`);
    }
    const name = clip(t.name);
    if (seen.has(t.name)) throw fail(`${where}: tensor '${name}' appears twice`);
    seen.add(t.name);
    if (!Array.isArray(t.shape) || !t.shape.every(isCount) || !isCount(t.offset) || !isCount(t.bytes)) {
      throw fail(`${where} ('${name}'): shape must be non-negative integers and offset/bytes counts`);
    }
    const n = (t.shape as number[]).reduce((a, b) => a * b, 1);
    const dtype = t.dtype as TllmDtype;
    if (n * DTYPE_BYTES[dtype] !== t.bytes) throw fail(`${where} ('${name}'): ${t.bytes} bytes, but shape [${t.shape}] of ${dtype} needs ${n * DTYPE_BYTES[dtype]}`);
    if (t.offset % TLLM_ALIGN !== 0 || t.offset < start || t.offset + t.bytes > size) {
      throw fail(`${where} ('${name}'): bytes [${t.offset}, ${t.offset + t.bytes}) are not ${TLLM_ALIGN}-byte aligned inside the ${size}-byte file (truncated?)`);
    }
    if (dtype === 'i8' && !INT8_GROUPS.includes(t.group as Int8Group)) throw fail(`${where} ('${name}'): an i8 tensor needs "group" ${INT8_GROUPS.join('|')}`);
    return { name: t.name, dtype, shape: t.shape as number[], offset: t.offset, bytes: t.bytes, ...(dtype === 'i8' ? { group: t.group as Int8Group } : {}) };
  });
  const header = { ...(raw as unknown as TllmHeader), config, tensors, ...(finetune ? { finetune } : {}) };
  checkModelTensors(fail, header);
  return header;
}

/** The header's fine-tune fields checked, the template read into its structured form. */
function readFinetune(fail: (what: string) => UserError, f: unknown): TllmFinetune {
  if (!isObj(f)) throw fail('field "finetune" must be an object');
  if (f.startRule !== undefined && !START_RULES.includes(f.startRule as string)) throw fail(`finetune.startRule must be one of ${START_RULES.map((r) => `"${r}"`).join(', ')}, got ${quoteValue(f.startRule)}`);
  if (f.allowSpecial !== undefined && typeof f.allowSpecial !== 'boolean') throw fail('finetune.allowSpecial must be true or false');
  if (f.labels !== undefined && !(Array.isArray(f.labels) && f.labels.every((l) => typeof l === 'string'))) throw fail('finetune.labels must be an array of strings');
  if (f.instruction !== undefined && typeof f.instruction !== 'string') throw fail('finetune.instruction must be a string');
  const t = f.promptTemplate;
  if (t === undefined) return f as TllmFinetune;
  try {
    return { ...f, promptTemplate: typeof t === 'string' ? legacyTemplate(t) : templateFromObject(t, 'finetune.promptTemplate') };
  } catch (e) {
    if (!(e instanceof UserError)) throw e;
    throw fail(oneLine(e.message));
  }
}

/** The spellings of the sequence-start rules (src/task/sequence.ts) a header may use. */
const START_RULES = ['endoftext', '<|endoftext|>', 'none', ''];

/**
 * An older header's string template, 'A{instruction}B{input}C' or 'A{input}C' (each placeholder at most once, the
 * instruction first), as the structured template that renders the same text: intro A, instruction part
 * '{instruction}', input part 'B{input}', response C, no separator or end marker (exact unless the input is empty
 * while an instruction is given: B is then left out with the input part).
 */
export function legacyTemplate(s: string): PromptTemplate {
  const count = (p: string) => s.split(p).length - 1;
  const i = s.indexOf('{input}');
  const k = s.indexOf('{instruction}');
  if (count('{input}') !== 1 || count('{instruction}') > 1 || k > i) {
    throw new UserError(`finetune.promptTemplate: the string template ${quoteValue(s)} needs {input} once, after {instruction} if any`);
  }
  const intro = k < 0 ? s.slice(0, i) : s.slice(0, k);
  const input = `${k < 0 ? '' : s.slice(k + '{instruction}'.length, i)}{input}`;
  return { intro, instruction: k < 0 ? '' : '{instruction}', input, response: s.slice(i + '{input}'.length), end: '', separator: '' };
}

/** Every GPT-2 parameter present with its shape; i8 ones with a scale tensor of the right shape. */
function checkModelTensors(fail: (what: string) => UserError, h: TllmHeader): void {
  // counted before listing: the specs of a corrupt nLayer = 2^31 - 1 filled the heap (the table is bounded by the file)
  if (h.tensors.length < numTensors(h.config)) throw fail(`config.nLayer is ${h.config.nLayer}, but the tensor table lists only ${h.tensors.length} tensors (a GPT-2 of that depth has ${numTensors(h.config)})`);
  const byName = new Map(h.tensors.map((t) => [t.name, t]));
  for (const spec of paramSpecs(h.config)) {
    const e = byName.get(spec.name);
    if (!e) throw fail(`has no tensor '${spec.name}'`);
    if (e.shape.length !== spec.shape.length || e.shape.some((d, i) => d !== spec.shape[i])) {
      throw fail(`tensor '${spec.name}' has shape [${e.shape}], the config needs [${spec.shape}]`);
    }
    if (e.dtype === 'u8') throw fail(`tensor '${spec.name}' is u8; weights are f32, f16 or i8`);
    if (e.dtype === 'i8') {
      if (spec.shape.length !== 2) throw fail(`tensor '${spec.name}' is a vector and cannot be i8`);
      const s = byName.get(`${spec.name}.scale`);
      const want = [spec.shape[0], groupsPerRow(spec.shape[1], e.group as Int8Group)];
      if (!s || s.dtype !== 'f32' || s.shape.length !== 2 || s.shape[0] !== want[0] || s.shape[1] !== want[1]) {
        throw fail(`tensor '${spec.name}.scale' must be f32 of shape [${want}] (the scales of int8 '${spec.name}')`);
      }
    }
  }
  const tok = h.tokenizer as { tensor?: string };
  if (tok.tensor !== undefined && byName.get(tok.tensor)?.dtype !== 'u8') throw fail(`tokenizer tensor '${clip(tok.tensor)}' must be present as u8`);
}
