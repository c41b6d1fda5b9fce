// One benchmark job in its own Node process (so its peak RSS is its own): the bench script re-runs itself with
// `--child <job JSON>` and prints its result as the last stdout line. Shared by bench/train.ts and bench/finetune.ts.
import { spawnSync } from 'node:child_process';

/** Runs `script --child <job>` under the same Node flags; returns the parsed last line, or the failure. */
export function runChild<R>(script: string, job: unknown): { ok: true; result: R } | { ok: false; status: number | null; last: string } {
  const p = spawnSync(process.execPath, [...process.execArgv, script, '--child', JSON.stringify(job)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 24,
  });
  const last = p.stdout.trimEnd().split('\n').pop() ?? '';
  return p.status === 0 ? { ok: true, result: JSON.parse(last) as R } : { ok: false, status: p.status, last };
}
