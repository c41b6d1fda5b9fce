// A small bounded run of bench/serve-load.ts's mixed load (completions, streams, classifications, malformed and
// oversized requests from concurrent clients) against an in-process server: every answer is the expected one
// (or a 503 when the queue is full), no connection errors, and the server is healthy afterwards.
import * as fs from 'node:fs';
import { afterAll, expect, it } from 'vitest';
import { clean, runLoad } from '../../bench/serve-load.js';
import { tempDir } from '../runtime/helpers.js';
import { exportModel, INT8, smallConfig, startServer } from './helpers.js';

const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('mixed load from concurrent clients: only expected answers, healthy afterwards', async () => {
  const s = await startServer(exportModel(dir, 'm.tllm', smallConfig, INT8).file, { queue: 2, maxBody: 8192 });
  try {
    const r = await runLoad(s.url, { clients: 4, seconds: 1.5, maxTokens: 4, oversizedBytes: 20_000, seed: 3 });
    expect(r.samples).toEqual([]);
    expect(clean(r)).toBe(true);
    expect(r.requests).toBeGreaterThan(4);
    const total = Object.values(r.outcomes).reduce((n, o) => n + o.ok + o.refused + o.busy, 0);
    expect(total).toBe(r.requests);
    // oversized bodies and malformed requests are never answered 200
    expect(r.outcomes.malformed.ok + r.outcomes.oversized.ok).toBe(0);
  } finally {
    await s.server.shutdown();
  }
}, 30_000);
