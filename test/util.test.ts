import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Rng } from '../src/util/rng.js';
import { Arena } from '../src/tensor/arena.js';
import { parseArgs } from '../src/cli/args.js';
import { AtomicWriter, removeStaleTemps, writeFileAtomic } from '../src/util/fs.js';
import { checkMemory, memoryLimit } from '../src/util/memory.js';
import { checkInferenceMemory, checkTrainingMemory } from '../src/models/gpt2/memory.js';
import { presetConfig } from '../src/models/gpt2/config.js';
import { UserError } from '../src/util/errors.js';
import { crc32 } from '../src/util/crc32.js';
import * as zlib from 'node:zlib';
import { Progress } from '../src/util/progress.js';

describe('Rng', () => {
  it('is reproducible from a seed and restorable from its state', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 50 }), (seed, skip) => {
        const a = new Rng(seed);
        for (let i = 0; i < skip; i++) a.nextU32();
        const b = new Rng(0).setState(a.getState());
        for (let i = 0; i < 20; i++) expect(b.nextU32()).toBe(a.nextU32());
      }),
    );
  });

  it('gives uniform and normal samples with the right moments', () => {
    const r = new Rng(7);
    const n = 200_000;
    let su = 0, sn = 0, sn2 = 0;
    for (let i = 0; i < n; i++) {
      const u = r.random();
      expect(u >= 0 && u < 1).toBe(true);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
    }
    expect(su / n).toBeCloseTo(0.5, 2);
    expect(sn / n).toBeCloseTo(0, 1);
    expect(sn2 / n).toBeCloseTo(1, 1);
  });
});

describe('Arena', () => {
  it('hands out aligned, zeroed, disjoint views and grows without invalidating old ones', () => {
    const arena = new Arena({ initialBytes: 65536, maxBytes: 64 * 1024 * 1024 });
    const a = arena.f32(10);
    a.fill(3);
    const b = arena.f32(1_000_000); // forces growth
    expect(a.byteOffset % 64).toBe(0);
    expect(b.byteOffset % 64).toBe(0);
    expect(b.byteOffset).toBeGreaterThanOrEqual(a.byteOffset + a.byteLength);
    expect(Array.from(a)).toEqual(new Array(10).fill(3));
    expect(b.every((x) => x === 0)).toBe(true);
    expect(arena.contains(a) && arena.contains(b)).toBe(true);
    expect(arena.contains(new Float32Array(4))).toBe(false);
    const m = arena.mark();
    arena.f32(100);
    arena.release(m);
    expect(arena.used).toBe(m);
  });
});

describe('parseArgs', () => {
  const specs = {
    steps: { type: 'number', help: 'steps', default: 10, min: 1, integer: true },
    lr: { type: 'number', help: 'lr', min: 0, max: 10 },
    out: { type: 'string', help: 'out', short: 'o' },
    verbose: { type: 'boolean', help: 'v', default: false },
    input: { type: 'string', help: 'inputs', multiple: true },
  } as const;
  it('parses typed flags, aliases, repeats and positionals', () => {
    const p = parseArgs('x', ['a', '--steps=5', '-o', 'f', '--verbose', '--input', 'i1', '--input', 'i2', 'b'], specs);
    expect(p.options.steps).toBe(5);
    expect(p.options.out).toBe('f');
    expect(p.options.verbose).toBe(true);
    expect(p.options.input).toEqual(['i1', 'i2']);
    expect(p.positionals).toEqual(['a', 'b']);
  });
  it('names the flag in errors', () => {
    expect(() => parseArgs('x', ['--steps', 'many'], specs)).toThrow(/--steps expects a number/);
    expect(() => parseArgs('x', ['--nope'], specs)).toThrow(UserError);
  });
  it('checks every number against the range its flag declares', () => {
    expect(() => parseArgs('x', ['--lr', '-1'], specs)).toThrow(/^option --lr must be a number from 0 to 10, got -1$/);
    expect(() => parseArgs('x', ['--lr=11'], specs)).toThrow(/from 0 to 10, got 11/);
    expect(() => parseArgs('x', ['--steps', '2.5'], specs)).toThrow(/^option --steps must be a whole number ≥ 1, got 2.5$/);
    expect(() => parseArgs('x', ['--steps', '0'], specs)).toThrow(/≥ 1, got 0/);
    expect(parseArgs('x', ['--lr', '0', '--steps', '1'], specs).options).toMatchObject({ lr: 0, steps: 1 });
  });
  it('quotes at most ~80 characters of an offending value', () => {
    const long = 'x'.repeat(100_000);
    let msg = '';
    try {
      parseArgs('x', ['--steps', long], specs);
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/expects a number, got 'x{80}…' \(100,000 characters\)/);
    expect(msg.length).toBeLessThan(200);
  });
});

describe('atomic writes', () => {
  it('never leaves a partial file under the target name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-'));
    const target = path.join(dir, 'x.bin');
    writeFileAtomic(target, 'old');
    const w = new AtomicWriter(target);
    w.write(new Uint8Array([1, 2, 3]));
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    w.abort();
    expect(fs.readFileSync(target, 'utf8')).toBe('old');
    expect(fs.readdirSync(dir)).toEqual(['x.bin']);
    writeFileAtomic(target, 'new');
    expect(fs.readFileSync(target, 'utf8')).toBe('new');
    fs.rmSync(dir, { recursive: true });
  });
});

describe('memory preflight', () => {
  const MiB = 1024 ** 2;
  const tree = (files: Record<string, string>) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-cgroup-'));
    for (const [f, v] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), `${v}\n`);
    }
    return root;
  };
  it('takes the cgroup v2 memory.max of the process or an ancestor, else the total memory', () => {
    const root = tree({ 'memory.max': 'max', 'a/memory.max': String(512 * MiB), 'a/b/memory.max': 'max' });
    expect(memoryLimit({ cgroupRoot: root, procSelfCgroup: '0::/a/b\n', totalBytes: 8192 * MiB })).toEqual({ bytes: 512 * MiB, source: 'cgroup v2 memory.max' });
    expect(memoryLimit({ cgroupRoot: root, procSelfCgroup: '0::/\n', totalBytes: 8192 * MiB })).toEqual({ bytes: 8192 * MiB, source: 'total memory' });
    // a limit above the machine's memory does not count
    expect(memoryLimit({ cgroupRoot: root, procSelfCgroup: '0::/a/b\n', totalBytes: 256 * MiB }).source).toBe('total memory');
  });
  it('reads cgroup v1 memory.limit_in_bytes, where "unlimited" is a huge number', () => {
    const root = tree({ 'memory/memory.limit_in_bytes': '9223372036854771712', 'memory/job/memory.limit_in_bytes': String(300 * MiB) });
    const probe = { cgroupRoot: root, procSelfCgroup: '4:memory:/job\n1:cpu:/\n', totalBytes: 4096 * MiB };
    expect(memoryLimit(probe)).toEqual({ bytes: 300 * MiB, source: 'cgroup v1 memory.limit_in_bytes' });
    expect(memoryLimit({ ...probe, procSelfCgroup: '4:memory:/other\n' }).source).toBe('total memory');
  });
  it('refuses with the figures and the way out', () => {
    const limit = { bytes: 512 * MiB, source: 'cgroup v2 memory.max' };
    expect(() => checkMemory(1900 * MiB, 'training 124M', 'use a smaller --model', limit)).toThrow(
      /^training 124M needs about 2,060 MiB of memory \(1,900 MiB \+ 160 MiB for Node.js\), but this process may use 512 MiB \(cgroup v2 memory.max\); use a smaller --model$/,
    );
    expect(() => checkMemory(100 * MiB, 'x', 'y', limit)).not.toThrow();
  });
});

describe('stale temp files', () => {
  it('removes the temp files of writers that are gone, keeps those of running processes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-'));
    const dead = '.checkpoint.ckpt.999999999.abc123.tmp';
    const live = `.checkpoint.ckpt.${process.pid}.abc123.tmp`;
    for (const f of [dead, live, 'checkpoint.ckpt']) fs.writeFileSync(path.join(dir, f), 'x');
    expect(removeStaleTemps(dir)).toEqual([dead]);
    expect(fs.readdirSync(dir).sort()).toEqual([live, 'checkpoint.ckpt'].sort());
    fs.rmSync(dir, { recursive: true });
  });
});

describe('GPT-2 memory checks', () => {
  const board = { bytes: 512 * 1024 ** 2, source: 'cgroup v2 memory.max' };
  it('refuses a 124M f32 model on a 512 MiB board, for generation and for training, with the figures', () => {
    expect(() => checkInferenceMemory(presetConfig('124M'), 'the model in x.ckpt', board)).toThrow(
      /^the model in x\.ckpt needs about [\d,]+ MiB of memory \([\d,]+ MiB \+ 160 MiB for Node\.js\), but this process may use 512 MiB \(cgroup v2 memory\.max\); use a smaller model/,
    );
    expect(() => checkTrainingMemory({ model: '124M', config: presetConfig('124M'), B: 1, T: 64 }, board)).toThrow(/training 124M with -b 1 -t 64 needs about 2,\d{3} MiB .* may use 512 MiB/);
    expect(() => checkInferenceMemory({ nLayer: 2, nHead: 2, nEmbd: 64, blockSize: 64, vocabSize: 512 }, 'tiny', board)).not.toThrow();
  });
});

describe('crc32', () => {
  const ascii = (s: string) => new TextEncoder().encode(s);
  it('gives the published CRC-32 check values', () => {
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926); // the catalogue's check value of CRC-32/ISO-HDLC
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("equals zlib's crc32 on random bytes and continues across chunks", () => {
    // zlib.crc32 exists from Node 20.15 / 22.2; on Node 18 the check values above stand alone
    const ref = (zlib as { crc32?: (b: Uint8Array, v?: number) => number }).crc32;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 300 }), (b, cut) => {
        const at = cut % (b.length + 1);
        expect(crc32(b.subarray(at), crc32(b.subarray(0, at)))).toBe(crc32(b));
        if (ref) expect(crc32(b)).toBe(ref(b));
      }),
      { numRuns: 200 },
    );
  });
});

describe('Progress line', () => {
  it('prints whole counts as integers and fractional ones (e.g. scaled to millions) with decimals', () => {
    const rows = new Progress('eval', 40, { unit: 'rows', live: false });
    rows.update(12);
    expect(rows.line()).toMatch(/^eval 12\/40 rows \| /);
    const tokens = new Progress('tokens', 2_500_000, { unit: 'M tok', scale: 1e6, live: false });
    tokens.update(1_250_000);
    expect(tokens.line()).toMatch(/^tokens 1\.25\/2\.50 M tok \| /);
  });
});
