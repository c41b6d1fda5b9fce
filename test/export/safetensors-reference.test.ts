// Byte-for-byte against an independent writer: test/fixtures/export/tiny-gpt2/model.safetensors was written by
// Hugging Face transformers (Python safetensors; see make_tiny_gpt2.py). Reading it and writing the same tensors
// and metadata back with our writer must reproduce the file exactly: header JSON, key order, padding and data.
import { describe, expect, it } from 'vitest';
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { readSafetensors, writeSafetensors } from '../../src/export/safetensors.js';
import { tempDir } from './fixtures.js';

const fixture = fileURLToPath(new URL('../fixtures/export/tiny-gpt2/model.safetensors', import.meta.url));
const tmp = tempDir('tinyllm-st-ref-');

describe('safetensors writer vs the reference serializer', () => {
  it('rewrites a transformers-written file byte for byte', () => {
    const { tensors, metadata } = readSafetensors(fixture);
    expect(tensors.size).toBeGreaterThan(10);
    const out = tmp('rewritten.safetensors');
    const dtypes = { F32: 'f32', F16: 'f16', BF16: 'bf16' } as const;
    writeSafetensors(
      out,
      [...tensors].map(([name, t]) => ({ name, shape: t.shape, data: t.data, dtype: dtypes[t.dtype as keyof typeof dtypes] })),
      metadata ?? undefined,
    );
    expect(Buffer.compare(fs.readFileSync(out), fs.readFileSync(fixture))).toBe(0);
  });
});
