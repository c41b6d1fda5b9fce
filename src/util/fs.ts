// Crash-safe file writing: everything durable (checkpoints, shards, exports, manifests) is written
// to a temporary file beside the target and renamed over it only when complete, so an interrupted
// run never leaves a half-written file under the real name.
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Temp files are named .<target name>.<pid>.<random hex>.tmp beside the target. */
const TEMP_RE = /^\..+\.(\d+)\.[0-9a-f]+\.tmp$/;

function tempName(target: string): string {
  const rand = Math.floor(Math.random() * 0xffffffff).toString(16);
  return path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}.${rand}.tmp`);
}

/** Writes `data` to `target` atomically (temp file + fsync + rename). */
export function writeFileAtomic(target: string, data: Uint8Array | string): void {
  writeAtomically(target, (w) => w.write(typeof data === 'string' ? Buffer.from(data, 'utf8') : data));
}

/** Streams a file through `body` into a temp file, renamed over `target` only if body returns normally. */
export function writeAtomically(target: string, body: (w: AtomicWriter) => void): void {
  const w = new AtomicWriter(target);
  try {
    body(w);
    w.commit();
  } catch (e) {
    w.abort();
    throw e;
  }
}

/** Streams chunks into a temp file; `commit()` renames it into place, `abort()` removes it. */
export class AtomicWriter {
  readonly target: string;
  readonly tempPath: string;
  private fd: number | null;
  bytesWritten = 0;

  constructor(target: string) {
    this.target = target;
    fs.mkdirSync(path.dirname(target), { recursive: true });
    this.tempPath = tempName(target);
    this.fd = fs.openSync(this.tempPath, 'w');
  }

  write(chunk: Uint8Array): void {
    if (this.fd === null) throw new Error(`AtomicWriter(${this.target}): write after commit/abort`);
    let off = 0;
    while (off < chunk.byteLength) off += fs.writeSync(this.fd, chunk, off, chunk.byteLength - off);
    this.bytesWritten += chunk.byteLength;
  }

  commit(): void {
    if (this.fd === null) throw new Error(`AtomicWriter(${this.target}): commit after commit/abort`);
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
    this.fd = null;
    fs.renameSync(this.tempPath, this.target);
  }

  abort(): void {
    if (this.fd !== null) {
      fs.closeSync(this.fd);
      this.fd = null;
    }
    fs.rmSync(this.tempPath, { force: true });
  }
}

/** True if a process with this id is running (used to tell a crashed writer's leftovers from a live one's). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temp files a killed writer left in `dir` (a checkpoint's is as big as the checkpoint); those
 * of running processes stay. Returns the names removed.
 */
export function removeStaleTemps(dir: string): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const stale = names.filter((n) => {
    const m = TEMP_RE.exec(n);
    return m !== null && !processAlive(Number(m[1]));
  });
  for (const n of stale) fs.rmSync(path.join(dir, n), { force: true });
  return stale;
}
