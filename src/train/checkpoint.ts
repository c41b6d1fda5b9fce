// The tinyllm training checkpoint: everything needed to continue a run exactly (weights, AdamW moments,
// step, RNG and data-loader position) or to generate from it (weights alone). Layout, little-endian:
//   preamble (32 B): magic "TLLMCKPT", u32 version, u32 header bytes, u32 header checksum, 12 reserved bytes
//   header: JSON (config, step, tokenizer, hyper-parameters, states, tensor table, sections), space-padded to 64 B
//   sections: raw float32 params, then m and v when saved for resume (a fine-tune's m and v cover only its
//   trainable set), then 'lora' adapter weights for a LoRA fine-tune (its params section holds the frozen base)
//   trailer: u32 checksum per section, then "TLLMEND\0"
// Written atomically (temp + rename), so a crash mid-write never replaces the last good checkpoint; the
// float I/O (and its refusal of big-endian hosts) is export/binary.ts's.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import type { FloatArray } from '../kernels/types.js';
import { numParams, validateConfig, type GPT2Config } from '../models/gpt2/config.js';
import { GPT2, type GPT2Options } from '../models/gpt2/model.js';
import { tensorTable } from '../models/gpt2/params.js';
import { readExact } from '../export/binary.js';
import type { SequenceStart } from '../task/sequence.js';
import { fsUserError, isFsError, oneLine, UserError } from '../util/errors.js';
import { isCount, isObject } from '../util/guards.js';
import { writeAtomically } from '../util/fs.js';
import type { RngState } from '../util/rng.js';
import type { FlatAdamW, AdamWHyper } from './adamw.js';
import { LoraAdapters } from '../finetune/lora.js';
import { mergeLora } from '../finetune/merge.js';
import { LORA_SITES, loraOf, validateMethod, type FinetuneMethod } from '../finetune/method.js';
import { trainableCount } from '../finetune/memory.js';

export const CHECKPOINT_MAGIC = 'TLLMCKPT';
/** Version 2 adds fine-tuning (header `finetune`, compact moments, a 'lora' section); pre-training files stay version 1 so older readers still open them. */
export const CHECKPOINT_VERSION = 2;
const END_MAGIC = 'TLLMEND\0';
const PREAMBLE = 32;
const CHUNK = 1 << 20; // floats per I/O chunk

export type SectionName = 'params' | 'm' | 'v' | 'lora';

export interface CheckpointHeader {
  config: GPT2Config;
  /** Optimizer steps completed. */
  step: number;
  /** Tokenizer the token ids belong to (e.g. 'gpt2'), or null. */
  tokenizer: string | null;
  /** How the model's training sequences started (src/task/sequence.ts); absent in older checkpoints. */
  sequenceStart?: SequenceStart;
  /** AdamW hyper-parameters and its bias-correction step count, when saved for resume. */
  optimizer?: AdamWHyper & { t: number };
  /** Run settings (batch, schedule, seeds, …) so --resume can continue with the same ones. */
  run?: Record<string, unknown>;
  rng?: RngState;
  /** Data-loader position (ShardLoader.getState()). */
  data?: unknown;
  /** Set for fine-tuning runs: the method (which tensors m and v cover; the LoRA shape of the 'lora' section). */
  finetune?: { method: FinetuneMethod };
  /** Every parameter: name, shape and byte offset inside the params section. */
  tensors: { name: string; shape: number[]; offset: number }[];
  /** Byte offset (from the end of the header) and length of each section. */
  sections: { name: SectionName; offset: number; bytes: number }[];
}

export interface SaveCheckpointOptions {
  model: GPT2;
  step: number;
  tokenizer?: string | null;
  /** How the training sequences started, so inference starts prompts the same way. */
  sequenceStart?: SequenceStart;
  /** Include AdamW moments (needed for --resume). */
  optimizer?: FlatAdamW;
  run?: Record<string, unknown>;
  rng?: RngState;
  data?: unknown;
  /** Fine-tuning method, and the LoRA adapter weights when it is lora. */
  finetune?: { method: FinetuneMethod };
  adapter?: FloatArray;
}

/** A section written from chunks (a frozen-base model's dequantized parameters) instead of one array. */
interface SectionSource {
  length: number;
  read(start: number, out: Float32Array): void;
}

/** A section read in chunks into something other than one array. */
interface SectionSink {
  length: number;
  write(start: number, src: Float32Array): void;
}

/** The model's whole parameter vector as a sink (a frozen base keeps its own values). */
function paramSink(model: GPT2): SectionSink {
  return { length: numParams(model.config), write: (start, src) => model.writeParams(start, src) };
}

/** Checksum of 32-bit little-endian words (xor-multiply; any change of one word changes it). */
function hashWords(h: number, words: Uint32Array): number {
  for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193) >>> 0;
  return h;
}
const HASH_SEED = 0x811c9dc5;

export function saveCheckpoint(path: string, o: SaveCheckpointOptions): void {
  const { model } = o;
  // a model with a frozen base (LoRA over int8) stores its whole parameter vector too, frozen matrices dequantized
  const params: SectionSource = { length: numParams(model.config), read: (start, out) => model.readParams(start, out) };
  const sections: [SectionName, FloatArray | SectionSource][] = [['params', params]];
  if (o.optimizer) sections.push(['m', o.optimizer.m], ['v', o.optimizer.v]);
  if (o.adapter) sections.push(['lora', o.adapter]);
  let offset = 0;
  const header: CheckpointHeader = {
    config: model.config,
    step: o.step,
    tokenizer: o.tokenizer ?? null,
    ...(o.sequenceStart ? { sequenceStart: o.sequenceStart } : {}),
    ...(o.optimizer ? { optimizer: { ...o.optimizer.hyper, t: o.optimizer.t } } : {}),
    ...(o.run ? { run: o.run } : {}),
    ...(o.rng ? { rng: o.rng } : {}),
    ...(o.data !== undefined ? { data: o.data } : {}),
    ...(o.finetune ? { finetune: o.finetune } : {}),
    tensors: tensorTable(model.config).map((e) => ({ name: e.name, shape: e.shape, offset: e.offset * 4 })),
    sections: sections.map(([name, a]) => {
      const s = { name, offset, bytes: a.length * 4 };
      offset += s.bytes;
      return s;
    }),
  };
  let json = Buffer.from(JSON.stringify({ format: 'tinyllm-checkpoint', ...header }), 'utf8');
  const padded = Math.ceil(json.length / 64) * 64;
  json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);
  const pre = Buffer.alloc(PREAMBLE);
  pre.write(CHECKPOINT_MAGIC, 0, 'latin1');
  pre.writeUInt32LE(o.finetune ? 2 : 1, 8);
  pre.writeUInt32LE(json.length, 12);
  pre.writeUInt32LE(hashWords(HASH_SEED, new Uint32Array(json.buffer, json.byteOffset, json.length / 4)), 16);

  writeAtomically(path, (w) => {
    w.write(pre);
    w.write(json);
    const stage = new Float32Array(CHUNK);
    const stageBytes = new Uint8Array(stage.buffer);
    const stageWords = new Uint32Array(stage.buffer);
    const trailer = Buffer.alloc(4 * sections.length + END_MAGIC.length);
    sections.forEach(([, a], si) => {
      let h = HASH_SEED;
      for (let i = 0; i < a.length; i += CHUNK) {
        const n = Math.min(CHUNK, a.length - i);
        const into = stage.subarray(0, n);
        if ('read' in a) a.read(i, into);
        else into.set(a.subarray(i, i + n)); // float64 models are stored as float32
        h = hashWords(h, stageWords.subarray(0, n));
        w.write(stageBytes.subarray(0, n * 4));
      }
      trailer.writeUInt32LE(h, 4 * si);
    });
    trailer.write(END_MAGIC, 4 * sections.length, 'latin1');
    w.write(trailer);
  });
}

/** An open checkpoint: its validated header and where its sections start. */
interface OpenCheckpoint {
  path: string;
  fd: number;
  header: CheckpointHeader;
  dataStart: number;
  checksums: Map<SectionName, number>;
}

function bad(path: string, what: string, fix = 'use an earlier checkpoint or start the run fresh'): UserError {
  return new UserError(`checkpoint ${path}: ${what}; ${fix}`);
}

function openCheckpoint(path: string): OpenCheckpoint {
  let fd: number;
  try {
    fd = fs.openSync(path, 'r');
  } catch (e) {
    throw new UserError(`checkpoint ${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path (a run directory holds checkpoint.ckpt)`);
  }
  try {
    const size = fs.fstatSync(fd).size;
    const pre = Buffer.alloc(PREAMBLE);
    if (fs.readSync(fd, pre, 0, PREAMBLE, 0) < PREAMBLE || pre.toString('latin1', 0, 8) !== CHECKPOINT_MAGIC) {
      throw bad(path, `not a tinyllm checkpoint (no "${CHECKPOINT_MAGIC}" magic)`, 'for Hugging Face or llm.c weights use tinyllm convert, or pass the right file');
    }
    const version = pre.readUInt32LE(8);
    if (version < 1 || version > CHECKPOINT_VERSION) {
      throw bad(path, `format version ${version}, this tinyllm reads versions 1 to ${CHECKPOINT_VERSION}`, 'use the tinyllm version that wrote it');
    }
    if (pre.subarray(20).some((b) => b !== 0)) throw bad(path, 'reserved preamble bytes are not zero (the file is corrupt)');
    const hbytes = pre.readUInt32LE(12);
    if (hbytes % 4 !== 0 || PREAMBLE + hbytes > size) throw bad(path, `file is truncated inside the header (${size} bytes)`);
    const json = Buffer.alloc(hbytes);
    fs.readSync(fd, json, 0, hbytes, PREAMBLE);
    if (hashWords(HASH_SEED, new Uint32Array(json.buffer, json.byteOffset, hbytes / 4)) !== pre.readUInt32LE(16)) {
      throw bad(path, 'header checksum mismatch (the file is corrupt)');
    }
    let header: CheckpointHeader;
    try {
      header = checkHeader(JSON.parse(json.toString('utf8')));
    } catch (e) {
      throw bad(path, `unreadable header (${oneLine((e as Error).message)})`);
    }
    const dataStart = PREAMBLE + hbytes;
    const dataBytes = header.sections.reduce((n, s) => n + s.bytes, 0);
    const expected = dataStart + dataBytes + 4 * header.sections.length + END_MAGIC.length;
    if (size !== expected) {
      throw bad(
        path,
        size < expected
          ? `file is truncated: ${size} bytes, the header describes ${expected} (the write or copy did not finish)`
          : `file has ${size - expected} unexpected extra bytes after its end`,
      );
    }
    const trailer = Buffer.alloc(expected - dataStart - dataBytes);
    fs.readSync(fd, trailer, 0, trailer.length, dataStart + dataBytes);
    if (trailer.toString('latin1', 4 * header.sections.length) !== END_MAGIC) throw bad(path, 'end marker missing (the file is corrupt)');
    const checksums = new Map(header.sections.map((s, i) => [s.name, trailer.readUInt32LE(4 * i)]));
    return { path, fd, header, dataStart, checksums };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}


/**
 * Checks the parsed header's fields before anything is sized from them: sections back to back from 0,
 * their byte counts whole floats, and the params section exactly the config's parameter count (so the
 * model allocated for it is no larger than the file).
 */
/** The fine-tuning method of a header (validated), or null for pre-training checkpoints. */
function checkFinetune(f: unknown, config: GPT2Config): FinetuneMethod | null {
  if (f === undefined) return null;
  if (!isObject(f) || !isObject(f.method)) throw new Error('finetune entry is not an object with a method');
  const m = f.method as Record<string, unknown>;
  const loraOk = (l: unknown) => isObject(l) && Array.isArray(l.targets) && l.targets.every((t) => (LORA_SITES as readonly unknown[]).includes(t));
  if (m.kind === 'lora') {
    if (!loraOk(m.lora)) throw new Error('finetune LoRA settings are malformed');
  } else if (m.kind === 'zo') {
    if (!isObject(m.zo) || (m.zo.lora !== null && !loraOk(m.zo.lora))) throw new Error('finetune zeroth-order settings are malformed');
  } else if (m.kind !== 'full' && m.kind !== 'top') {
    throw new Error(`unknown fine-tuning method ${JSON.stringify(m.kind)}`);
  }
  validateMethod(m as unknown as FinetuneMethod, config);
  return m as unknown as FinetuneMethod;
}

function checkHeader(h: unknown): CheckpointHeader {
  if (!isObject(h)) throw new Error('not a JSON object');
  if (!isObject(h.config)) throw new Error('config missing');
  validateConfig(h.config as unknown as GPT2Config);
  if (!isCount(h.step)) throw new Error(`step ${JSON.stringify(h.step)} is not a count`);
  if (h.tokenizer !== undefined && h.tokenizer !== null && typeof h.tokenizer !== 'string') throw new Error('tokenizer is not a string');
  if (!Array.isArray(h.tensors)) throw new Error('tensor table missing');
  if (!Array.isArray(h.sections) || h.sections.length > 4) throw new Error('section table missing');
  const config = h.config as unknown as GPT2Config;
  const method = checkFinetune(h.finetune, config);
  // floats each section holds: the whole model's params; moments of the trainable set; the LoRA adapters
  const floats: Record<SectionName, number> = {
    params: numParams(config),
    m: method ? trainableCount(config, method) : numParams(config),
    v: method ? trainableCount(config, method) : numParams(config),
    lora: method && loraOf(method) ? trainableCount(config, method) : NaN,
  };
  let offset = 0;
  const names = new Map<unknown, number>();
  for (const s of h.sections as unknown[]) {
    if (!isObject(s) || !(s.name as string in floats) || names.has(s.name) || s.offset !== offset || !isCount(s.bytes)) {
      throw new Error(`bad section entry ${JSON.stringify(s).slice(0, 80)}`);
    }
    names.set(s.name, s.bytes);
    const want = floats[s.name as SectionName] * 4;
    if (s.bytes !== want) throw new Error(`section '${s.name}' holds ${s.bytes} bytes, the ${method ? 'fine-tune method' : 'config'} needs ${want}`);
    offset += s.bytes;
  }
  if (!names.has('params')) throw new Error('no params section');
  if (names.has('m') !== names.has('v') || (names.has('m') && names.get('m') !== names.get('v'))) throw new Error('optimizer sections m and v differ in size');
  if (h.optimizer !== undefined && !(isObject(h.optimizer) && isCount(h.optimizer.t))) throw new Error('optimizer state is not an object with a step count t');
  if (h.rng !== undefined && !(Array.isArray(h.rng) && h.rng.length === 4 && h.rng.every(isCount))) throw new Error('rng state is not 4 words');
  if (h.run !== undefined && !isObject(h.run)) throw new Error('run settings are not an object');
  return h as unknown as CheckpointHeader;
}

/** Reads one section into `into`, verifying its checksum. */
function readSection(c: OpenCheckpoint, name: SectionName, into: FloatArray | SectionSink): void {
  const s = c.header.sections.find((x) => x.name === name);
  if (!s) throw bad(c.path, `has no '${name}' section`, name === 'params' ? 'the file is corrupt' : 'it was saved without optimizer state; resume is not possible from it — start fresh and initialise from it instead');
  if (s.bytes !== into.length * 4) throw bad(c.path, `section '${name}' holds ${s.bytes / 4} floats, the model needs ${into.length}`);
  const stage = new Float32Array(CHUNK);
  const bytes = new Uint8Array(stage.buffer);
  const words = new Uint32Array(stage.buffer);
  let h = HASH_SEED;
  for (let i = 0; i < into.length; i += CHUNK) {
    const n = Math.min(CHUNK, into.length - i);
    readExact(c.fd, bytes.subarray(0, n * 4), c.dataStart + s.offset + i * 4, c.path, `checkpoint section '${name}'`);
    h = hashWords(h, words.subarray(0, n));
    if ('write' in into) into.write(i, stage.subarray(0, n));
    else into.set(stage.subarray(0, n), i);
  }
  if (h !== c.checksums.get(name)) throw bad(c.path, `checksum mismatch in section '${name}' (the file is corrupt)`);
}

/** Reads and validates only the header (config, step, states) of a checkpoint. */
export function readCheckpointHeader(path: string): CheckpointHeader {
  const c = openCheckpoint(path);
  fs.closeSync(c.fd);
  return c.header;
}

/** Differences between two configs as 'field=a vs b' strings (empty when they match). */
export function configDiff(a: GPT2Config, b: GPT2Config): string[] {
  return (['nLayer', 'nHead', 'nEmbd', 'vocabSize', 'blockSize'] as const).filter((k) => a[k] !== b[k]).map((k) => `${k}=${a[k]} vs ${b[k]}`);
}

/**
 * Loads a checkpoint into an existing model (and its optimizer's moments and a LoRA fine-tune's adapter
 * weights, when given); the model's config must match the checkpoint's. Returns the header (step, states).
 */
export function loadCheckpoint(path: string, model: GPT2, optimizer?: FlatAdamW, adapter?: FloatArray): CheckpointHeader {
  const c = openCheckpoint(path);
  try {
    const diff = configDiff(c.header.config, model.config);
    if (diff.length > 0) {
      throw new UserError(`checkpoint ${path} does not fit this model (checkpoint vs model: ${diff.join(', ')}); use the checkpoint's model settings or start fresh`);
    }
    readSection(c, 'params', paramSink(model));
    if (optimizer) {
      readSection(c, 'm', optimizer.m);
      readSection(c, 'v', optimizer.v);
      optimizer.t = c.header.optimizer?.t ?? c.header.step;
    }
    if (adapter) readSection(c, 'lora', adapter);
    return c.header;
  } finally {
    fs.closeSync(c.fd);
  }
}

/**
 * Weights only (for generation and export): a new model with the checkpoint's config and parameters; a LoRA
 * fine-tune's adapters are merged into them, so the model is the fine-tuned one.
 */
export function loadCheckpointWeights(path: string, opts: Omit<GPT2Options, 'seed'> = {}): { model: GPT2; header: CheckpointHeader } {
  const c = openCheckpoint(path);
  try {
    const model = new GPT2(c.header.config, { ...opts, seed: null });
    readSection(c, 'params', paramSink(model));
    const method = c.header.finetune?.method;
    const loraConfig = method ? loraOf(method) : null;
    if (loraConfig) {
      const lora = new LoraAdapters(model.config, loraConfig, model.alloc, null);
      readSection(c, 'lora', lora.params);
      mergeLora((name) => model.params.get(name), lora);
    }
    return { model, header: c.header };
  } finally {
    fs.closeSync(c.fd);
  }
}

/** True when the file starts with the tinyllm checkpoint magic. */
export function isCheckpoint(path: string): boolean {
  try {
    const fd = fs.openSync(path, 'r');
    try {
      const b = Buffer.alloc(8);
      return fs.readSync(fd, b, 0, 8, 0) === 8 && b.toString('latin1') === CHECKPOINT_MAGIC;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return false;
  }
}

/** The checkpoint file inside a run directory. */
export const CHECKPOINT_FILE = 'checkpoint.ckpt';

export function checkpointPath(runDirOrFile: string): string {
  return fs.statSync(runDirOrFile, { throwIfNoEntry: false })?.isDirectory() ? join(runDirOrFile, CHECKPOINT_FILE) : runDirOrFile;
}

/** Where a checkpoint goes when its run directory cannot be written: the system's temp folder. */
export function rescuePath(target: string, step: number): string {
  return join(os.tmpdir(), 'tinyllm-rescue', `${basename(dirname(resolve(target)))}-step${step}.ckpt`);
}

/**
 * Saves through `write(file)` (an atomic write: a failure leaves the previous file at `target` as it was).
 * When the file system refuses (disk full, read-only or vanished folder), writes the same state to
 * rescuePath() instead and throws a UserError saying where the weights of `step` are and that the last
 * good checkpoint (of `savedStep`, if any) is kept.
 */
export function saveOrRescue(target: string, write: (file: string) => void, step: number, savedStep: number | null): void {
  try {
    write(target);
    return;
  } catch (e) {
    if (!isFsError(e)) throw e;
    const why = fsUserError(e).message;
    const kept = savedStep === null ? 'there is no earlier checkpoint' : `the previous checkpoint ${target} (step ${savedStep}) is kept as it was`;
    const rescue = rescuePath(target, step);
    try {
      write(rescue);
    } catch (e2) {
      const why2 = isFsError(e2) ? fsUserError(e2).message : (e2 as Error).message;
      throw new UserError(`could not save the checkpoint of step ${step}: ${why}; nor to ${rescue}: ${why2}. The weights of step ${step} are lost; ${kept}`);
    }
    throw new UserError(
      `could not save the checkpoint of step ${step}: ${why}. The weights of step ${step} are in ${rescue} instead ` +
        `(continue with --resume ${rescue}, or move it to ${target} once there is room); ${kept}`,
    );
  }
}
