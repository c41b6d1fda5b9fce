// Fuzz harness for file readers (issue 9, "Fuzzed readers"): starts from valid files, applies random
// truncations, bit flips, byte splices, huge/negative integer fields and JSON header corruption, and
// checks what every reader must keep: it returns a valid result or throws the project's UserError with a
// one-line message naming the file; it never throws anything else, never allocates far more than the
// input justifies and never hangs. A reader's fuzz test is a ReaderTarget and one fuzzReader() call:
//
//   const target: ReaderTarget<Weights> = {
//     files: { 'model.gguf': fileBytes((f) => writeGguf(f, ...)) },           // valid seeds (seeds.ts)
//     fields: { tensorCount: { file: 'model.gguf', offset: 8, size: 8 } },     // header integers to abuse
//     read: (dir) => readGguf(path.join(dir, 'model.gguf')),
//     check: (w) => expect(w.flat.length).toBe(numParams(w.config)),          // what a success must satisfy
//   };
//   it('fuzzed GGUF', () => fuzzReader(target, { numRuns: 150 }));
//   it('regression', () => expectRefused(target, [{ kind: 'int', field: 'tensorCount', value: 2 ** 40 }], /model\.gguf: .../));
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../../src/util/errors.js';

/** An integer in a binary header that mutations overwrite with huge, negative and edge values. */
export interface IntField {
  file: string;
  offset: number;
  size: 1 | 2 | 4 | 8;
}

/** Where a file keeps JSON: `get` extracts its text, `set` puts new text back (fixing length prefixes). */
export interface JsonCodec {
  get(bytes: Uint8Array): string;
  set(bytes: Uint8Array, text: string): Uint8Array;
}

/** A file whose whole content is JSON. */
export const WHOLE_FILE_JSON: JsonCodec = {
  get: (bytes) => Buffer.from(bytes).toString('utf8'),
  set: (_bytes, text) => new Uint8Array(Buffer.from(text, 'utf8')),
};

export interface ReaderTarget<R> {
  /** Valid input files by name (written into a fresh directory for every case). */
  files: Record<string, Uint8Array | string>;
  /** Files the generated mutations may change (default: all). */
  mutable?: string[];
  /** Named integer fields of binary headers. */
  fields?: Record<string, IntField>;
  /** Files holding JSON (by name), for structure-aware corruption. */
  json?: Record<string, JsonCodec>;
  /**
   * Repairs integrity checks (checksums) after mutating, so that half of the cases reach the code behind
   * them; gets the file name and its mutated bytes.
   */
  fixup?: (file: string, bytes: Uint8Array) => Uint8Array;
  /** Reads the files from `dir` (their paths are path.join(dir, name)). */
  read(dir: string): R | Promise<R>;
  /**
   * Throws when a successful result is not valid (shapes, counts, finite sizes, …). `c` is the case: when
   * `c.fix` is false no checksum was repaired, so a format that checksums its header must have read it unchanged.
   */
  check?(result: R, dir: string, c: FuzzCase): void;
  /** Bytes of array buffers the reader may hold after a case; default 32 MiB + 16 × the input's bytes. */
  budget?(inputBytes: number): number;
}

/** One change to the files. Generated ones use the first five kinds; hand-written cases may also use `edit` and `editJson`. */
export type Mutation =
  | { kind: 'truncate'; file: string; at: number }
  | { kind: 'flip'; file: string; bits: number[] }
  | { kind: 'splice'; file: string; at: number; remove: number; insert: number[] }
  | { kind: 'int'; field: string; value: number }
  | { kind: 'json'; file: string; path: number[]; op: 'set' | 'delete' | 'rename'; value: unknown }
  | { kind: 'edit'; file: string; apply: (bytes: Uint8Array) => Uint8Array }
  | { kind: 'editJson'; file: string; apply: (json: any) => unknown };

export interface FuzzCase {
  mutations: Mutation[];
  /** Run the target's fixup after mutating. */
  fix: boolean;
}

/** Integers that break length and count checks: zero, negatives, 2^31 and 2^32 boundaries, beyond 2^53. */
export const NASTY_INTS = [0, 1, -1, 2, 3, 7, 255, 256, 65535, 65536, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40, 2 ** 53 - 1, 2 ** 63];

/** JSON values that break field checks: wrong types, huge and negative numbers, odd shapes, long strings. */
export const NASTY_JSON: unknown[] = [
  ...NASTY_INTS, -(2 ** 40), 1.5, -0.5, 1e300, -1e300, '', 'x', 'F32', 'F16', 'BF16', 'I64', 'U8', null, true, false,
  [], {}, [-1], [0], [2 ** 40], [2 ** 31, 2 ** 31], [1, 2, 3], [65536, 65536, 65536], ['a', 'b'], { a: 1 }, 'x'.repeat(2000),
  '__proto__', 'constructor', 'h.0.attn.bias', '<|endoftext|>',
];

const KEYS = ['__proto__', 'constructor', 'toString', '', 'x', 'lm_head.weight', '__metadata__', 'transformer.wte.weight'];

function mutationArb(t: ReaderTarget<unknown>): fc.Arbitrary<Mutation> {
  const names = t.mutable ?? Object.keys(t.files);
  const file = fc.constantFrom(...names);
  // positions are taken modulo the file length: uniform over the file, or among the first bytes (headers)
  const pos = fc.oneof(fc.noBias(fc.nat({ max: 1 << 30 })), fc.nat({ max: 4096 }));
  const arbs: fc.Arbitrary<Mutation>[] = [
    fc.record({ kind: fc.constant('truncate' as const), file, at: pos }),
    fc.record({ kind: fc.constant('flip' as const), file, bits: fc.array(pos, { minLength: 1, maxLength: 8 }) }),
    fc.record({
      kind: fc.constant('splice' as const),
      file,
      at: pos,
      remove: fc.oneof(fc.nat({ max: 16 }), pos),
      insert: fc.oneof(fc.array(fc.nat({ max: 255 }), { maxLength: 16 }), fc.constantFrom<number[]>([0xff, 0xff, 0xff, 0xff], [0x7b], [0x22], [0x0a], [0x2c], [0xef, 0xbb, 0xbf], [0xc3])),
    }),
  ];
  const fields = Object.keys(t.fields ?? {});
  if (fields.length) {
    arbs.push(fc.record({ kind: fc.constant('int' as const), field: fc.constantFrom(...fields), value: fc.oneof(fc.constantFrom(...NASTY_INTS), fc.integer()) }));
  }
  const jsonFiles = Object.keys(t.json ?? {}).filter((f) => names.includes(f));
  if (jsonFiles.length) {
    const value = fc.oneof(fc.constantFrom(...NASTY_JSON), fc.jsonValue({ maxDepth: 2 }));
    const json = fc.record({
      kind: fc.constant('json' as const),
      file: fc.constantFrom(...jsonFiles),
      path: fc.array(fc.nat({ max: 1000 }), { maxLength: 5 }),
      op: fc.constantFrom('set' as const, 'set' as const, 'delete' as const, 'rename' as const),
      value,
    });
    arbs.push(json, json); // JSON readers are mostly validation code: weigh structured changes up
  }
  return fc.oneof(...arbs);
}

/** Random cases for a target: one to three mutations, with or without the checksum fixup. */
export function caseArb(t: ReaderTarget<unknown>): fc.Arbitrary<FuzzCase> {
  return fc.record({ mutations: fc.array(mutationArb(t), { minLength: 1, maxLength: 3 }), fix: fc.boolean() });
}

/** Replaces the JSON node reached by walking `p` (child indices modulo the child count). */
function mutateJson(root: unknown, p: number[], op: 'set' | 'delete' | 'rename', value: unknown): unknown {
  let parent: Record<string, unknown> | unknown[] | null = null;
  let key = '';
  let node = root;
  for (const step of p) {
    if (typeof node !== 'object' || node === null) break;
    const keys = Object.keys(node);
    if (keys.length === 0) break;
    parent = node as Record<string, unknown>;
    key = keys[step % keys.length];
    node = (node as Record<string, unknown>)[key];
  }
  if (parent === null) return op === 'set' ? value : root;
  const own = (o: object, k: string, v: unknown) => Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  if (op === 'set') own(parent, key, value);
  else if (Array.isArray(parent)) parent.splice(Number(key), 1);
  else {
    const v = parent[key];
    delete parent[key];
    if (op === 'rename') own(parent, typeof value === 'string' ? value : KEYS[p.length % KEYS.length], v);
  }
  return root;
}

function applyMutation(t: ReaderTarget<unknown>, files: Map<string, Uint8Array>, m: Mutation): void {
  const file = m.kind === 'int' ? (t.fields as Record<string, IntField>)[m.field].file : m.file;
  const b = files.get(file);
  if (!b) throw new Error(`fuzz case names an unknown file '${file}'`);
  let out = b;
  switch (m.kind) {
    case 'truncate':
      out = b.subarray(0, b.length ? m.at % b.length : 0);
      break;
    case 'flip':
      out = b.slice();
      if (out.length) for (const bit of m.bits) out[(bit >>> 3) % out.length] ^= 1 << (bit & 7);
      break;
    case 'splice': {
      const at = m.at % (b.length + 1);
      const tail = b.subarray(Math.min(b.length, at + m.remove));
      out = new Uint8Array(at + m.insert.length + tail.length);
      out.set(b.subarray(0, at));
      out.set(m.insert, at);
      out.set(tail, at + m.insert.length);
      break;
    }
    case 'int': {
      const f = (t.fields as Record<string, IntField>)[m.field];
      if (f.offset + f.size > b.length) break;
      out = b.slice();
      const v = BigInt.asUintN(64, BigInt(Math.trunc(m.value)));
      for (let i = 0; i < f.size; i++) out[f.offset + i] = Number((v >> BigInt(8 * i)) & 0xffn);
      break;
    }
    case 'json': {
      const codec = t.json?.[file];
      if (!codec) throw new Error(`fuzz case: '${file}' has no JSON codec`);
      let root: unknown;
      try {
        root = JSON.parse(codec.get(b));
      } catch {
        return; // an earlier mutation already broke the JSON
      }
      out = codec.set(b, JSON.stringify(mutateJson(root, m.path, m.op, structuredClone(m.value))) ?? 'null');
      break;
    }
    case 'edit':
      out = m.apply(b.slice());
      break;
    case 'editJson': {
      const codec = t.json?.[file];
      if (!codec) throw new Error(`fuzz case: '${file}' has no JSON codec`);
      out = codec.set(b, JSON.stringify(m.apply(JSON.parse(codec.get(b)))));
      break;
    }
  }
  files.set(file, plain(out));
}

/** A private copy as a plain Uint8Array (Buffer.prototype.slice would share memory with the seed files). */
const plain = (b: Uint8Array): Uint8Array => (b instanceof Buffer ? new Uint8Array(b) : b);

/** The files of a case: the target's valid files with the mutations (and fixup) applied. */
export function caseFiles(t: ReaderTarget<unknown>, c: FuzzCase): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>(Object.entries(t.files).map(([k, v]) => [k, new Uint8Array(typeof v === 'string' ? Buffer.from(v, 'utf8') : v)]));
  const touched = new Set<string>();
  for (const m of c.mutations) {
    applyMutation(t, files, m);
    touched.add(m.kind === 'int' ? (t.fields as Record<string, IntField>)[m.field].file : m.file);
  }
  if (c.fix && t.fixup) for (const f of touched) files.set(f, plain(t.fixup(f, files.get(f) as Uint8Array)));
  return files;
}

export type Outcome<R> = { ok: true; result: R } | { ok: false; error: UserError };

/** A reader broke the property; the message says how. */
export class FuzzViolation extends Error {}

/** A case CPU-bound longer than this is reported as a hang (cases take milliseconds). */
const HANG_CPU_MS = 5000;
/** Longest acceptable error message (a one-line message, not a dump of the offending value). */
const MAX_MESSAGE = 1000;

let scratchRoot: string | null = null;
function scratchDir(): string {
  scratchRoot ??= fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-fuzz-'));
  return fs.mkdtempSync(path.join(scratchRoot, 'case-'));
}
process.once('exit', () => {
  if (scratchRoot) fs.rmSync(scratchRoot, { recursive: true, force: true });
});

/**
 * Runs one case in a fresh directory and checks the property; returns the outcome (a valid result or the
 * UserError) or throws FuzzViolation. Regression tests call it with a hand-written case.
 */
export async function runCase<R>(t: ReaderTarget<R>, c: FuzzCase): Promise<Outcome<R>> {
  const files = caseFiles(t as ReaderTarget<unknown>, c);
  // a case that kills the process (out of memory, a hang) cannot report itself: FUZZ_TRACE=<path> leaves it in <path>.<pid>
  if (process.env.FUZZ_TRACE) fs.writeFileSync(`${process.env.FUZZ_TRACE}.${process.pid}`, JSON.stringify({ files: Object.keys(t.files), case: c }, (_k, v) => (typeof v === 'function' ? String(v) : v)));
  const dir = scratchDir();
  let input = 0;
  for (const [name, bytes] of files) {
    fs.writeFileSync(path.join(dir, name), bytes);
    input += bytes.byteLength;
  }
  const budget = t.budget ? t.budget(input) : 32 * 2 ** 20 + 16 * input;
  const before = process.memoryUsage().arrayBuffers;
  const cpu = process.cpuUsage();
  let outcome: Outcome<R>;
  try {
    outcome = { ok: true, result: await t.read(dir) };
  } catch (e) {
    if (!(e instanceof UserError)) throw new FuzzViolation(`reader threw ${e instanceof Error ? e.stack : String(e)}`);
    outcome = { ok: false, error: e };
  }
  const used = process.cpuUsage(cpu);
  const grown = process.memoryUsage().arrayBuffers - before;
  try {
    if ((used.user + used.system) / 1000 > HANG_CPU_MS) throw new FuzzViolation(`reader spent ${Math.round((used.user + used.system) / 1000)} ms of CPU on a ${input}-byte input (a hang)`);
    if (grown > budget) throw new FuzzViolation(`reader holds ${grown} bytes of array buffers for a ${input}-byte input (budget ${budget})`);
    if (outcome.ok) t.check?.(outcome.result, dir, c);
    else {
      const msg = outcome.error.message;
      if (!msg.includes(dir) && ![...files.keys()].some((f) => msg.includes(f))) throw new FuzzViolation(`UserError does not name the file: ${msg}`);
      if (msg.includes('\n') || msg.length > MAX_MESSAGE) throw new FuzzViolation(`UserError is not one short line (${msg.length} chars): ${msg.slice(0, 300)}…`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return outcome;
}

export interface FuzzOptions {
  /** Cases to run (keep it modest: the whole fuzz suite should stay under ~30 s of CPU). */
  numRuns?: number;
  /** fast-check seed, to replay a reported failure. */
  seed?: number;
}

/**
 * Property: every generated case keeps the reader's contract (see runCase). The unmutated files are
 * checked first, so a target whose valid input does not read back fails loudly instead of passing.
 * With FUZZ_STATS=1 in the environment it prints how often each outcome occurred (which checks the
 * mutations reach), e.g. `FUZZ_STATS=1 npx vitest run test/fuzz/shard.test.ts`; FUZZ_RUNS=5000 runs a deeper search;
 * FUZZ_TRACE=/tmp/case writes every case to /tmp/case.<pid> before running it (the last one names a case that crashed).
 */
/**
 * The fast-check seed: opts.seed, else FUZZ_SEED, else fixed under CI (a CI run must be reproducible: a random case that
 * ran a worker out of memory, a fine-tune header's nLayer = 2^31, was seen and not replayed;
 * FUZZ_TRACE names such a case), else random, as fast-check does.
 */
function seedOf(opts: FuzzOptions): { seed?: number } {
  const seed = opts.seed ?? (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI ? 20261201 : undefined);
  return seed === undefined ? {} : { seed };
}

export async function fuzzReader<R>(t: ReaderTarget<R>, opts: FuzzOptions = {}): Promise<void> {
  const clean = await runCase(t, { mutations: [], fix: false });
  if (!clean.ok) throw new Error(`fuzz target's valid files do not read: ${clean.error.message}`);
  const seen = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(caseArb(t as ReaderTarget<unknown>), async (c) => {
      const out = await runCase(t, c);
      const key = out.ok ? '(read)' : out.error.message.replace(/\S*tinyllm-fuzz-\S*/g, '<file>').replace(/\d+/g, 'N').slice(0, 120);
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }),
    { numRuns: Number(process.env.FUZZ_RUNS) || (opts.numRuns ?? 100), ...seedOf(opts) },
  );
  if (process.env.FUZZ_STATS) console.log([...seen].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${String(n).padStart(5)}  ${k}`).join('\n'));
}

/** Expects a hand-written case to be refused with a UserError whose message matches every pattern. */
export async function expectRefused(t: ReaderTarget<unknown>, c: FuzzCase | Mutation[], ...patterns: RegExp[]): Promise<string> {
  const out = await runCase(t, Array.isArray(c) ? { mutations: c, fix: true } : c);
  if (out.ok) throw new Error('expected the reader to refuse the input, but it read it');
  for (const p of patterns) if (!p.test(out.error.message)) throw new Error(`message ${JSON.stringify(out.error.message)} does not match ${p}`);
  return out.error.message;
}

/** Little-endian integer helpers for building fields and fixups. */
export function writeU32(bytes: Uint8Array, offset: number, v: number): void {
  new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).setUint32(offset, v >>> 0, true);
}
