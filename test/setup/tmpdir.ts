// Vitest global setup: every test's temporary files go under one directory made for the run, removed at its end.
// Tests and the CLI processes they spawn take os.tmpdir() from TMPDIR, so nothing a run makes is left in /tmp,
// whether or not the test cleans up after itself (a worker killed at teardown runs no exit handler).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export default function setup(): () => void {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-test-'));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = root;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    fs.rmSync(root, { recursive: true, force: true });
  };
}
