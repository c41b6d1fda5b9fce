// Memory preflight: before a model is loaded or trained, compare what it needs with what the process may
// use — the cgroup limit where one is set (cgroup v2 memory.max, or v1 memory.limit_in_bytes, on the
// process's own cgroup and its ancestors), else the machine's total memory — and refuse with the figures and
// a way out, instead of being killed by the kernel's OOM killer without a word.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from './errors.js';

export interface MemoryLimit {
  bytes: number;
  /** Where the figure comes from, e.g. 'cgroup v2 memory.max' or 'total memory'. */
  source: string;
}

export interface MemoryProbe {
  /** Mount point of the cgroup file systems (default /sys/fs/cgroup). */
  cgroupRoot?: string;
  /** Contents of /proc/self/cgroup (default: read it). */
  procSelfCgroup?: string;
  /** Total memory of the machine (default os.totalmem()). */
  totalBytes?: number;
}

/** Memory the Node.js runtime itself takes besides the model (code, heap, worker threads). */
export const RUNTIME_OVERHEAD_BYTES = 160 * 1024 ** 2;

function readLimit(file: string): number | null {
  try {
    const s = fs.readFileSync(file, 'utf8').trim();
    const n = Number(s);
    // 'max' (v2) or a huge number (v1's "unlimited", about 2^63) mean no limit
    return s === 'max' || !Number.isFinite(n) || n <= 0 || n >= 2 ** 60 ? null : n;
  } catch {
    return null;
  }
}

/** The smallest limit set in `file` of the cgroup directory `dir` or any ancestor up to `root`. */
function hierarchyLimit(root: string, cgroupPath: string, file: string): number | null {
  let best: number | null = null;
  for (let p = path.posix.normalize(`/${cgroupPath}`); ; p = path.posix.dirname(p)) {
    const n = readLimit(path.join(root, p, file));
    if (n !== null && (best === null || n < best)) best = n;
    if (p === '/') break;
  }
  return best;
}

/** The memory this process may use: its cgroup's limit when one is set and below the machine's memory, else the total memory. */
export function memoryLimit(probe: MemoryProbe = {}): MemoryLimit {
  const root = probe.cgroupRoot ?? '/sys/fs/cgroup';
  const total = probe.totalBytes ?? os.totalmem();
  let lines: string[] = [];
  try {
    lines = (probe.procSelfCgroup ?? fs.readFileSync('/proc/self/cgroup', 'utf8')).split('\n');
  } catch {
    /* not Linux */
  }
  const limits: MemoryLimit[] = [];
  for (const line of lines) {
    const [, controllers, p] = line.split(':');
    if (p === undefined) continue;
    if (controllers === '') {
      const n = hierarchyLimit(root, p, 'memory.max') ?? hierarchyLimit(path.join(root, 'unified'), p, 'memory.max');
      if (n !== null) limits.push({ bytes: n, source: 'cgroup v2 memory.max' });
    } else if (controllers.split(',').includes('memory')) {
      const n = hierarchyLimit(path.join(root, 'memory'), p, 'memory.limit_in_bytes');
      if (n !== null) limits.push({ bytes: n, source: 'cgroup v1 memory.limit_in_bytes' });
    }
  }
  const best = limits.reduce<MemoryLimit | null>((a, l) => (a === null || l.bytes < a.bytes ? l : a), null);
  return best !== null && best.bytes < total ? best : { bytes: total, source: 'total memory' };
}

export const mib = (bytes: number): string => `${Math.ceil(bytes / 1024 ** 2).toLocaleString('en-US')} MiB`;

/**
 * Refuses (UserError) when `needBytes` plus the runtime's own overhead exceed the memory limit:
 * "<what> needs N MiB, but this process may use M MiB (<source>); <wayOut>".
 */
export function checkMemory(needBytes: number, what: string, wayOut: string, limit: MemoryLimit = memoryLimit()): void {
  const total = needBytes + RUNTIME_OVERHEAD_BYTES;
  if (total <= limit.bytes) return;
  throw new UserError(`${what} needs about ${mib(total)} of memory (${mib(needBytes)} + ${mib(RUNTIME_OVERHEAD_BYTES)} for Node.js), but this process may use ${mib(limit.bytes)} (${limit.source}); ${wayOut}`);
}
