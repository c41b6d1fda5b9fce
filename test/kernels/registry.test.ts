// The kernel registry: tier listing and ranking, instance caching per (tier, threads), the process
// default with its TINYLLM_KERNELS / TINYLLM_THREADS overrides and their errors, registerTier, and
// `tinyllm info`.
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as kernels from '../../src/kernels/index.js';
import { UserError } from '../../src/util/errors.js';

/** A fresh copy of the registry module (its process default is module state), with env overrides. */
async function freshRegistry(env: Record<string, string>): Promise<typeof kernels> {
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  vi.resetModules();
  return import('../../src/kernels/index.js');
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('kernel registry', () => {
  it('lists ref first and js among the tiers; the default is the highest-ranked one', async () => {
    const tiers = kernels.availableTiers();
    expect(tiers[0]).toBe('ref');
    expect(tiers).toContain('js');
    const reg = await freshRegistry({ TINYLLM_KERNELS: '', TINYLLM_THREADS: '' });
    expect(reg.getKernels().name).toBe(tiers[tiers.length - 1]);
  });

  it('caches one instance per tier and thread count', () => {
    const a = kernels.createKernels('js', { threads: 2 });
    expect(kernels.createKernels('js', { threads: 2 })).toBe(a);
    expect(kernels.createKernels('js', { threads: 1 })).not.toBe(a);
    expect(a.threads).toBe(2);
    expect(kernels.createKernels('ref', { threads: 4 })).toBe(kernels.ref);
  });

  it('honours TINYLLM_KERNELS and TINYLLM_THREADS', async () => {
    const reg = await freshRegistry({ TINYLLM_KERNELS: 'js', TINYLLM_THREADS: '1' });
    const k = reg.getKernels();
    expect([k.name, k.threads]).toEqual(['js', 1]);
  });

  it('explains bad overrides and unknown tiers with a UserError', async () => {
    const bad = await freshRegistry({ TINYLLM_KERNELS: 'gpu' });
    expect(() => bad.getKernels()).toThrow(/TINYLLM_KERNELS=gpu .*ref/);
    const badThreads = await freshRegistry({ TINYLLM_THREADS: 'many' });
    expect(() => badThreads.defaultThreads()).toThrow(/TINYLLM_THREADS=many/);
    expect(() => kernels.createKernels('nope')).toThrow(UserError);
    expect(() => kernels.createKernels('js', { threads: 0 })).toThrow(/positive integer/);
  });

  it('setKernels replaces the process default by a tier name or a kernel set', () => {
    expect(kernels.setKernels('ref').name).toBe('ref');
    expect(kernels.getKernels()).toBe(kernels.ref);
    const js = kernels.createKernels('js', { threads: 1 });
    kernels.setKernels(js);
    expect(kernels.getKernels()).toBe(js);
  });

  it('registerTier adds a tier; unavailable tiers are not listed and cannot be created', async () => {
    const reg = await freshRegistry({});
    const custom = { ...reg.ref, name: 'custom' };
    reg.registerTier({ name: 'custom', rank: 5, available: () => true, create: () => custom });
    reg.registerTier({ name: 'never', rank: 6, available: () => false, create: () => custom });
    expect(reg.availableTiers().at(-1)).toBe('custom');
    expect(reg.getKernels()).toBe(custom);
    expect(() => reg.createKernels('never')).toThrow(/not supported on this platform/);
  });
});

describe('tinyllm info', () => {
  it('prints versions, tiers, the chosen kernels and SIMD support as JSON', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const { run } = await import('../../src/cli/commands/info.js');
    await run(['--json']);
    const info = JSON.parse(String(log.mock.calls[0][0])) as Record<string, unknown>;
    log.mockRestore();
    expect(info.node).toBe(process.versions.node);
    expect(info.arch).toBe(process.arch);
    expect(info.tiers).toEqual(expect.arrayContaining(['ref', 'js']));
    expect(typeof info.wasmSimd).toBe('boolean');
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});
