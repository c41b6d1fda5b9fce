// The worker pool: a stress test of thousands of tiny jobs on several threads (results checked), views
// refreshed after the arena grows, the WebAssembly contract (loadWasm/runWasm with a row range), errors
// reported from pool threads, and a process with a pool exiting on its own.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OP } from '../../src/kernels/jobs.js';
import { Pool } from '../../src/kernels/pool.js';
import { sharedArena } from '../../src/tensor/arena.js';
import { Rng } from '../../src/util/rng.js';

const arena = sharedArena();
const off = (v: ArrayBufferView) => v.byteOffset >>> 2;
let pool: Pool;

beforeAll(async () => {
  pool = new Pool(3);
  await pool.ready();
});
afterAll(() => pool.close());

describe('pool', () => {
  it('runs thousands of tiny jobs correctly, with the workers taking part', () => {
    const rng = new Rng(11);
    const mark = arena.mark();
    const a = arena.f32(64);
    const b = arena.f32(64);
    const out = arena.f32(64);
    const before = pool.workerChunks;
    for (let iter = 0; iter < 5000; iter++) {
      const n = 1 + rng.int(64);
      for (let i = 0; i < n; i++) {
        a[i] = rng.int(1000);
        b[i] = iter;
      }
      out.fill(-1);
      pool.run(OP.add, [off(out), off(a), off(b)], n, 1 + rng.int(8));
      for (let i = 0; i < 64; i++) {
        if (out[i] !== (i < n ? a[i] + iter : -1)) expect.fail(`job ${iter}: out[${i}] = ${out[i]}`);
      }
    }
    arena.release(mark);
    expect(pool.workerChunks).toBeGreaterThan(before);
  });

  it('sees arrays allocated after the arena grew', () => {
    const mark = arena.mark();
    const capacity = arena.capacity;
    const big = arena.f32(capacity / 4 + 1000); // forces memory.grow
    expect(arena.capacity).toBeGreaterThan(capacity);
    const n = 100_000;
    const a = arena.f32(n).fill(3);
    const out = arena.f32(n);
    for (let rep = 0; rep < 20; rep++) pool.run(OP.add, [off(out), off(a), off(big)], n, 16);
    expect(out.every((v) => v === 3)).toBe(true);
    arena.release(mark);
  });

  it('runs a WebAssembly export on every thread with a row range appended to its args', () => {
    const inst = pool.loadWasm(new WebAssembly.Module(fillModule()));
    const mark = arena.mark();
    const rows = 10_007;
    const dst = arena.i32(rows);
    // fill(ptr, value, rowStart, rowEnd): dst[r] = value + r
    pool.runWasm('fill', [dst.byteOffset, 1000], rows, 37);
    for (let r = 0; r < rows; r++) if (dst[r] !== 1000 + r) expect.fail(`row ${r}: ${dst[r]}`);
    // the caller's own instance works on the same memory
    (inst.exports.fill as (...a: number[]) => void)(dst.byteOffset, 0, 0, 1);
    expect(dst[0]).toBe(0);
    arena.release(mark);
  });

  it('reports a trap on a pool thread as an error, and keeps working afterwards', () => {
    pool.loadWasm(new WebAssembly.Module(fillModule()));
    expect(() => pool.runWasm('fill', [arena.capacity, 1], 1000, 8)).toThrow(/failed on a pool thread/);
    expect(() => pool.runWasm('nope', [], 1)).toThrow(/no loaded module/);
    const mark = arena.mark();
    const dst = arena.i32(100);
    pool.runWasm('fill', [dst.byteOffset, 5], 100, 4);
    expect(dst[99]).toBe(104);
    arena.release(mark);
  });

  it('lets the process exit on its own', () => {
    const fixture = fileURLToPath(new URL('./fixtures/pool-exit.ts', import.meta.url));
    const tsx = createRequire(import.meta.url).resolve('tsx');
    const r = spawnSync(process.execPath, ['--import', tsx, fixture], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe(`sum=${3 * (1 << 18)}`);
    expect(r.status).toBe(0);
  });
});

/**
 * A hand-assembled module: imports a shared env.memory and exports
 * fill(ptr, value, rowStart, rowEnd) { for r in [rowStart, rowEnd): i32[ptr + 4r] = value + r }.
 */
function fillModule(): Uint8Array<ArrayBuffer> {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];
  const body = [
    1, 1, 0x7f, // one local: i32 r (local 4)
    0x20, 2, 0x21, 4, // r = rowStart
    0x02, 0x40, 0x03, 0x40, // block, loop
    0x20, 4, 0x20, 3, 0x4e, 0x0d, 1, // if (r >= rowEnd) break
    0x20, 0, 0x20, 4, 0x41, 2, 0x74, 0x6a, // ptr + (r << 2)
    0x20, 1, 0x20, 4, 0x6a, // value + r
    0x36, 2, 0, // i32.store
    0x20, 4, 0x41, 1, 0x6a, 0x21, 4, // r++
    0x0c, 0, 0x0b, 0x0b, 0x0b, // br loop, end loop, end block, end func
  ];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 0]),
    ...section(2, [1, ...str('env'), ...str('memory'), 2, 3, 1, ...uleb(65536)]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...str('fill'), 0, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
