// safetensors against the published format (huggingface/safetensors README, "Format"):
//   "8 bytes: N, a u64 int, containing the size of the header"
//   "N bytes: a JSON utf-8 string representing the header ... {"TENSOR_NAME": {"dtype": "F16", "shape":
//    [1, 16, 256], "data_offsets": [BEGIN, END]}, ...}" offsets relative to the byte buffer, END one past.
//   "A special key __metadata__ is allowed to contain free form text-to-text map."
//   "Endianness: Little-endian", "Order: 'C' or row-major".
// and the reference serializer (safetensors/src/tensor.rs): tensors sorted by dtype (descending enum order:
// F32 before BF16 before F16) then name; compact JSON with __metadata__ first; header padded with spaces
// (0x20) to a multiple of 8; the reader requires contiguous offsets covering the whole buffer.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import * as fs from 'node:fs';
import { readSafetensors, SafetensorsReader, writeSafetensors, type TensorToWrite } from '../../src/export/safetensors.js';
import { f32ToBf16Bits, bf16BitsToF32, f16BitsToF32, f32ToF16Bits } from '../../src/export/half.js';
import { expectUserError, tempDir } from './fixtures.js';

const tmpPath = tempDir('tinyllm-st-');
const tmpFile = (): string => tmpPath('t.safetensors');

/** A safetensors file from a header JSON string and data bytes, exactly as the spec lays it out. */
function handBuilt(json: string, data: number[]): Uint8Array {
  const n = Buffer.byteLength(json);
  const out = new Uint8Array(8 + n + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(n), true);
  out.set(Buffer.from(json), 8);
  out.set(data, 8 + n);
  return out;
}

describe('safetensors writer', () => {
  // These 222 bytes are also what Python safetensors 0.8.0 `safetensors.torch.save_file` writes for the same
  // tensors and metadata (checked by hand when this test was written; Python is not needed to run it).
  it('writes the exact bytes the spec and the reference serializer give for a tiny tensor set', () => {
    const file = tmpFile();
    writeSafetensors(
      file,
      [
        { name: 'w', shape: [1, 2], data: Float32Array.of(0.5, -1), dtype: 'f16' },
        { name: 'b', shape: [2], data: Float32Array.of(1, -2) },
        { name: 'a', shape: [], data: Float32Array.of(0.5), dtype: 'bf16' },
      ],
      { format: 'pt' },
    );
    // F32 first, then BF16, then F16 (descending dtype order), compact JSON, __metadata__ first
    const json =
      '{"__metadata__":{"format":"pt"},' +
      '"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},' +
      '"a":{"dtype":"BF16","shape":[],"data_offsets":[8,10]},' +
      '"w":{"dtype":"F16","shape":[1,2],"data_offsets":[10,14]}}';
    expect(json.length).toBe(196);
    const padded = json + ' '.repeat(4); // 196 -> 200, a multiple of 8
    const data = [
      0x00, 0x00, 0x80, 0x3f, // 1.0f  = 0x3f800000 little-endian
      0x00, 0x00, 0x00, 0xc0, // -2.0f = 0xc0000000
      0x00, 0x3f, // bf16 0.5 = 0x3f00
      0x00, 0x38, // f16 0.5  = 0x3800
      0x00, 0xbc, // f16 -1.0 = 0xbc00
    ];
    const want = handBuilt(padded, data);
    expect(want.subarray(0, 8)).toEqual(Uint8Array.of(200, 0, 0, 0, 0, 0, 0, 0));
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(want);
  });

  it('writes an empty header as {} padded to 8 bytes', () => {
    const file = tmpFile();
    writeSafetensors(file, []);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(handBuilt('{}      ', []));
  });

  it("writes a tensor named '__proto__' like any other name (found by the property below)", () => {
    const file = tmpFile();
    writeSafetensors(file, [{ name: '__proto__', shape: [1], data: new Float32Array([2.5]) }]);
    const { tensors } = readSafetensors(file);
    expect([...tensors.keys()]).toEqual(['__proto__']);
    expect(Array.from(tensors.get('__proto__')!.data)).toEqual([2.5]);
  });

  it('round-trips random tensor sets (values exact for f32, rounded to nearest even for f16/bf16)', () => {
    const tensor = fc.record({
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
      dtype: fc.constantFrom('f32', 'f16', 'bf16' as const),
      seed: fc.integer(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z_.0-9]{1,12}$/), tensor), { selector: (t) => t[0], maxLength: 6 }), (items) => {
        const tensors: TensorToWrite[] = items.map(([name, t]) => {
          const n = t.shape.reduce((a, b) => a * b, 1);
          const data = new Float32Array(n).map((_, i) => Math.sin(t.seed + i * 7.3) * 10 ** ((i % 7) - 3));
          return { name, shape: t.shape, data, dtype: t.dtype };
        });
        const file = tmpFile();
        writeSafetensors(file, tensors, { k: 'v' });
        const { tensors: back, metadata } = readSafetensors(file);
        expect(metadata).toEqual({ k: 'v' });
        expect([...back.keys()].sort()).toEqual(tensors.map((t) => t.name).sort());
        for (const t of tensors) {
          const got = back.get(t.name)!;
          expect(got.shape).toEqual(t.shape);
          const src = t.data as Float32Array;
          const want =
            t.dtype === 'f16' ? src.map((x) => f16BitsToF32(f32ToF16Bits(x))) : t.dtype === 'bf16' ? src.map((x) => bf16BitsToF32(f32ToBf16Bits(x))) : src;
          expect(got.data).toEqual(want);
        }
        fs.rmSync(file);
      }),
      { numRuns: 40 },
    );
  });
});

describe('safetensors reader', () => {
  const write = (bytes: Uint8Array): string => {
    const f = tmpFile();
    fs.writeFileSync(f, bytes);
    return f;
  };
  const good = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const eight = [0, 0, 128, 63, 0, 0, 0, 64]; // 1.0, 2.0

  it('reads a hand-built file, with space padding after the JSON and tensors in any header order', () => {
    const f = write(handBuilt('{"y":{"dtype":"BF16","shape":[1],"data_offsets":[8,10]},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}    ', [...eight, 0x80, 0xbf]));
    const { tensors, metadata } = readSafetensors(f);
    expect(metadata).toBeNull();
    expect(Array.from(tensors.get('x')!.data)).toEqual([1, 2]);
    expect(Array.from(tensors.get('y')!.data)).toEqual([-1]); // bf16 0xbf80 = -1
    const r = new SafetensorsReader(f);
    expect(r.names).toEqual(['x', 'y']); // data order
    r.close();
  });

  it('rejects truncated files, naming the file', () => {
    const full = handBuilt(good, eight);
    const f1 = write(full.subarray(0, full.length - 1));
    expectUserError(() => readSafetensors(f1), f1, /tensors cover 8 bytes but the data buffer holds 7/, /truncated/);
    const f2 = write(full.subarray(0, 5));
    expectUserError(() => readSafetensors(f2), f2, /too short/);
    const f3 = write(full.subarray(0, 20));
    expectUserError(() => readSafetensors(f3), f3, /runs past the end/);
  });

  it('rejects trailing bytes', () => {
    const f = write(handBuilt(good, [...eight, 1]));
    expectUserError(() => readSafetensors(f), /trailing bytes/);
  });

  it('rejects unknown dtypes, naming the tensor', () => {
    const f = write(handBuilt('{"x":{"dtype":"F7","shape":[2],"data_offsets":[0,8]}}', eight));
    expectUserError(() => readSafetensors(f), f, /tensor 'x'/, /unknown dtype "F7"/);
  });

  it('rejects a shape that does not match the byte range, naming the tensor', () => {
    const f = write(handBuilt('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', eight));
    expectUserError(() => readSafetensors(f), /tensor 'x'/, /needs 12/);
  });

  it('rejects overlapping, gapped and out-of-range offsets', () => {
    const overlap = write(
      handBuilt('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', eight),
    );
    expectUserError(() => readSafetensors(overlap), /tensor '(x|y)'/, /overlapping/);
    const gap = write(handBuilt('{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', eight));
    expectUserError(() => readSafetensors(gap), /tensor 'x'/, /gap/);
    const past = write(handBuilt('{"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', eight));
    expectUserError(() => readSafetensors(past), /cover 16 bytes/);
    const reversed = write(handBuilt('{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', eight));
    expectUserError(() => readSafetensors(reversed), /tensor 'x'/, /data_offsets/);
  });

  it('rejects headers that are not a JSON object or whose metadata is not text-to-text', () => {
    expectUserError(() => readSafetensors(write(handBuilt('[1,2]', []))), /must start with '\{'/);
    expectUserError(() => readSafetensors(write(handBuilt('{"x":', []))), /not valid UTF-8 JSON/);
    expectUserError(() => readSafetensors(write(handBuilt('{"__metadata__":{"a":1}}', []))), /__metadata__/);
  });

  it('refuses to read integer tensors as floats, naming the tensor', () => {
    const f = write(handBuilt('{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', eight));
    const r = new SafetensorsReader(f);
    expect(() => r.readFloat32('ids')).toThrow(/tensor 'ids' has dtype I64/);
    r.close();
  });
});
