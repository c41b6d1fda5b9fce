// The WebAssembly emitter: LEB128 against known encodings (the spec's and Wikipedia's examples), module
// structure, and tiny generated modules that validate and compute the right values (scalar, SIMD, control flow).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { f32, f32x4, i32, ModuleBuilder, relaxedSimdSupported, select, simdSupported, sleb, uleb, v128, type FuncBuilder } from '../../src/kernels/wasm/emitter.js';
import { kernelModuleBytes } from '../../src/kernels/wasm/module.js';

/** Instantiates a module over a fresh memory and returns its exports and memory. */
function instantiate(m: ModuleBuilder, memory = new WebAssembly.Memory({ initial: 1 })) {
  const inst = new WebAssembly.Instance(m.compile(), { env: { memory } });
  return { exports: inst.exports as Record<string, (...a: number[]) => number>, memory };
}

describe('LEB128', () => {
  it('encodes known unsigned values', () => {
    expect(uleb(0)).toEqual([0x00]);
    expect(uleb(127)).toEqual([0x7f]);
    expect(uleb(128)).toEqual([0x80, 0x01]);
    expect(uleb(624485)).toEqual([0xe5, 0x8e, 0x26]);
    expect(uleb(0xffffffff)).toEqual([0xff, 0xff, 0xff, 0xff, 0x0f]);
  });

  it('encodes known signed values', () => {
    expect(sleb(0)).toEqual([0x00]);
    expect(sleb(63)).toEqual([0x3f]);
    expect(sleb(64)).toEqual([0xc0, 0x00]);
    expect(sleb(-1)).toEqual([0x7f]);
    expect(sleb(-64)).toEqual([0x40]);
    expect(sleb(-65)).toEqual([0xbf, 0x7f]);
    expect(sleb(-123456)).toEqual([0xc0, 0xbb, 0x78]);
    expect(sleb(-0x80000000)).toEqual([0x80, 0x80, 0x80, 0x80, 0x78]);
  });

  it('rejects values outside 32 bits', () => {
    expect(() => uleb(-1)).toThrow(RangeError);
    expect(() => uleb(2 ** 32)).toThrow(RangeError);
    expect(() => sleb(1.5)).toThrow(RangeError);
  });

  it('round-trips through an i32.const in a real module (property)', () => {
    const m = new ModuleBuilder();
    const values = [0, 1, -1, 63, 64, -64, -65, 2 ** 31 - 1, -(2 ** 31), 8191, -8193];
    values.forEach((v, k) => m.func(`c${k}`, {}, 'i32', (f) => f.return(i32.const(v))));
    const { exports } = instantiate(m);
    values.forEach((v, k) => expect(exports[`c${k}`]()).toBe(v));
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (v) => {
        const mm = new ModuleBuilder();
        mm.func('c', {}, 'i32', (f) => f.return(i32.const(v)));
        return instantiate(mm).exports.c() === v;
      }),
      { numRuns: 50 },
    );
  });
});

describe('ModuleBuilder', () => {
  it('writes the magic, version and a validating empty module', () => {
    const bytes = new ModuleBuilder().build();
    expect([...bytes.subarray(0, 8)]).toEqual([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    expect(WebAssembly.validate(bytes)).toBe(true);
  });

  it('runs scalar arithmetic, params, locals and a counted loop', () => {
    const m = new ModuleBuilder();
    // sum of i*i for i in [0, n)
    m.func('squares', { n: 'i32' }, 'i32', (f, { n }) => {
      const i = f.local('i32');
      const s = f.local('i32');
      f.for(i, 0, n, 1, () => f.set(s, i32.add(s, i32.mul(i, i))));
      f.return(s);
    });
    m.func('pick', { a: 'i32', b: 'i32', c: 'i32' }, 'i32', (f, p) => f.return(select(p.a, p.b, p.c)));
    m.func('branches', { x: 'i32' }, 'i32', (f, { x }) => {
      f.if(i32.lt_s(x, 0), () => f.return(i32.const(-1)), () => f.if(i32.eqz(x), () => f.return(i32.const(0))));
      f.return(i32.const(1));
    });
    const { exports } = instantiate(m);
    expect(exports.squares(10)).toBe(285);
    expect(exports.pick(7, 9, 1)).toBe(7);
    expect(exports.pick(7, 9, 0)).toBe(9);
    expect([exports.branches(-5), exports.branches(0), exports.branches(5)]).toEqual([-1, 0, 1]);
  });

  it('calls functions and reads/writes an imported shared memory with f32 and f32x4', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared: true });
    const m = new ModuleBuilder().importMemory({ module: 'env', name: 'memory', min: 1, max: 65536, shared: true });
    const sq = m.func('sq', { x: 'f32' }, 'f32', (f, { x }) => f.return(f32.mul(x, x)), false);
    // out[i] = in[i] * in[i] + 1, four lanes at a time
    m.func('map', { out: 'i32', inp: 'i32', n: 'i32' }, 'none', (f, p) => {
      const i = f.local('i32');
      f.for(i, 0, p.n, 4, () => {
        const x = v128.load(i32.add(p.inp, i32.shl(i, 2)));
        f.emit(v128.store(i32.add(p.out, i32.shl(i, 2)), f32x4.add(f32x4.mul(x, x), f32x4.splat(f32.const(1)))));
      });
    });
    m.func('sqAt', { addr: 'i32' }, 'f32', (f, p) => f.return(f.call(sq, f32.load(p.addr))));
    const { exports } = instantiate(m, memory);
    const inp = new Float32Array(memory.buffer, 64, 8);
    const out = new Float32Array(memory.buffer, 128, 8);
    inp.set([1, 2, 3, 4, -1, 0.5, 10, -3]);
    exports.map(128, 64, 8);
    expect([...out]).toEqual([2, 5, 10, 17, 2, 1.25, 101, 10]);
    expect(exports.sqAt(64 + 4 * 6)).toBe(100);
  });

  it('rejects type errors at build time', () => {
    const m = new ModuleBuilder();
    expect(() => m.func('bad', {}, 'none', (f: FuncBuilder) => f.emit(f32x4.add(f32.const(1) as never, f32.const(2) as never)))).toThrow(TypeError);
    expect(() => new ModuleBuilder().importMemory({ module: 'env', name: 'memory', min: 1, shared: true })).toThrow(/maximum/);
  });

  it('emits relaxed_madd in the relaxed build, which validates exactly when the engine has relaxed SIMD', () => {
    const bytes = kernelModuleBytes({ shared: true, relaxed: true });
    const hasMadd = bytes.some((b, i) => b === 0xfd && bytes[i + 1] === 0x85 && bytes[i + 2] === 0x02);
    expect(hasMadd).toBe(true);
    expect(WebAssembly.validate(bytes)).toBe(relaxedSimdSupported());
  });

  it('detects SIMD on this Node.js, and the full kernel module validates for both memory kinds', () => {
    expect(simdSupported()).toBe(true);
    expect(WebAssembly.validate(kernelModuleBytes({ shared: true, relaxed: false }))).toBe(true);
    expect(WebAssembly.validate(kernelModuleBytes({ shared: false, relaxed: false }))).toBe(true);
  });
});
