// Detection and fallback: with WebAssembly SIMD reported missing, createWasmKernels hands back the
// fallback tier and prints a one-line notice once per process (this file runs in its own module state).
import { describe, expect, it, vi } from 'vitest';
import { ref } from '../../src/kernels/ref.js';
import { createWasmKernels } from '../../src/kernels/wasm/index.js';

describe('wasm tier without SIMD', () => {
  it('returns the fallback tier and prints the notice once', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const made: number[] = [];
      const fallback = (threads: number) => (made.push(threads), ref);
      const k1 = createWasmKernels({ simd: false, threads: 2, fallback });
      const k2 = createWasmKernels({ simd: false, threads: 1, fallback });
      expect(k1).toBe(ref);
      expect(k2.name).toBe('ref');
      expect(made).toEqual([2, 1]);
      const notices = write.mock.calls.map((c) => String(c[0])).filter((s) => s.includes('WebAssembly SIMD'));
      expect(notices).toHaveLength(1);
      expect(notices[0].trim().split('\n')).toHaveLength(1);
    } finally {
      write.mockRestore();
    }
  });

  it('with SIMD present, gives the wasm tier and prints nothing', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      expect(createWasmKernels({ simd: true }).name).toBe('wasm');
      expect(write).not.toHaveBeenCalled();
    } finally {
      write.mockRestore();
    }
  });
});
