// Runs every bench/*.ts (except this file) in turn, each in its own Node process under tsx, echoing
// its output, and collects the JSON summary each prints as its last stdout line.
// Run: npx tsx bench/run-all.ts [args passed to every bench, e.g. --quick]. Last stdout line: JSON.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const self = fileURLToPath(import.meta.url);
const tsx = createRequire(import.meta.url).resolve('tsx');
const passThrough = process.argv.slice(2);

/** Runs one bench, streaming its stdout, and resolves with its last stdout line and exit code. */
function runBench(file: string): Promise<{ code: number | null; last: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', tsx, file, ...passThrough], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      out += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, last: out.trimEnd().split('\n').pop() ?? '' }));
  });
}

const files = readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && `${dir}${f}` !== self)
  .sort();
const results: Record<string, unknown> = {};
for (const f of files) {
  const name = f.replace(/\.ts$/, '');
  console.log(`\n=== bench/${f} ===`);
  const t0 = performance.now();
  const { code, last } = await runBench(`${dir}${f}`);
  let summary: unknown;
  try {
    summary = JSON.parse(last);
  } catch {
    summary = { error: `no JSON summary on the last stdout line (exit code ${code})` };
  }
  if (code !== 0) summary = { error: `exit code ${code}`, last: summary };
  results[name] = summary;
  console.log(`=== bench/${f}: ${((performance.now() - t0) / 1000).toFixed(1)} s ===`);
}
const failed = Object.entries(results).filter(([, v]) => typeof v === 'object' && v !== null && 'error' in v);
if (failed.length > 0) process.exitCode = 1;
console.log(JSON.stringify({ bench: 'all', loadavg: loadavg().map((l) => +l.toFixed(2)), failed: failed.map(([k]) => k), results }));
