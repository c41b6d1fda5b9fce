// The notebooks keep running: every notebooks/*.ipynb through the runner at quick sizes
// (TINYLLM_NOTEBOOK_QUICK=1), the runner's failure reports (runtime and type errors: notebook, cell, line), and the stored
// files: nbformat 4 with a TypeScript kernel, every code cell executed, every SVG display call stored as SVG.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const NOTEBOOKS = path.join(ROOT, 'notebooks');
/** Runs the runner without blocking this worker (a long spawnSync starves vitest's own messages). */
const runner = (...args: string[]) =>
  new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts', 'notebooks.ts'), ...args], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const files = fs.readdirSync(NOTEBOOKS).filter((f) => f.endsWith('.ipynb')).sort();
const code = (c: { source: string[] }) => c.source.join('');

describe('notebooks', () => {
  it('every notebook runs through the runner at quick sizes', async () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
    const r = await runner('--quick');
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    for (const f of files) expect(r.stdout).toContain(`✓ notebooks/${f}`);
  }, 600_000); // about 15 s of CPU; the wall time stretches on a shared machine

  it('a failing cell or a type error is reported with the notebook, the cell, the line and the message; nothing is written', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-nbtest-'));
    try {
      const cell = (cell_type: string, source: string) => ({ cell_type, id: `c${Math.random().toString(36).slice(2, 8)}`, metadata: {}, source: [source], ...(cell_type === 'code' ? { outputs: [], execution_count: null } : {}) });
      const nb = { nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [cell('markdown', '# t'), cell('code', "import { tensor } from 'tinyllm-ts';\nconsole.log('ok');"), cell('markdown', 'x'), cell('code', "const a = tensor([1, 2, 3]);\nconst b = a.reshape(2, 2);")] };
      const file = path.join(dir, 'broken.ipynb');
      const before = JSON.stringify(nb);
      fs.writeFileSync(file, before);
      const r = await runner('--refresh', file);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/broken\.ipynb: cell 3 \(In \[2\]\), line 2: reshape: cannot reshape \(3\)/);
      expect(fs.readFileSync(file, 'utf8')).toBe(before);

      // a type error (tsx alone would strip it and run) stops the run before any cell executes
      nb.cells[1].source = ["import { tensor } from 'tinyllm-ts';\nconsole.log(tensor([1]).reshap(1));"];
      fs.writeFileSync(file, JSON.stringify(nb));
      const t = await runner(file);
      expect(t.status).toBe(1);
      expect(t.stderr).toMatch(/broken\.ipynb: cell 1 \(In \[1\]\), line 2: type error: Property 'reshap' does not exist/);
      expect(t.stdout).not.toContain('✓');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('stored notebooks are nbformat 4 for a TypeScript kernel, fully executed, with their SVG pictures', () => {
    for (const f of files) {
      const nb = JSON.parse(fs.readFileSync(path.join(NOTEBOOKS, f), 'utf8'));
      expect(nb.nbformat, f).toBe(4);
      expect(nb.metadata.kernelspec, f).toMatchObject({ name: 'tslab', language: 'typescript' });
      const cells = nb.cells.filter((c: { cell_type: string }) => c.cell_type === 'code');
      cells.forEach((c: { execution_count: number; source: string[]; outputs: { output_type: string; data?: Record<string, string[]> }[] }, i: number) => {
        expect(c.execution_count, `${f} code cell ${i + 1} was not run (npm run notebooks -- --refresh)`).toBe(i + 1);
        const pictures = (code(c).match(/tslab\.display\.svg\(/g) ?? []).length;
        const svgs = c.outputs.filter((o) => o.output_type === 'display_data' && o.data?.['image/svg+xml']?.join('').startsWith('<svg'));
        if (pictures > 0 && !code(c).includes('for ')) expect(svgs.length, `${f} code cell ${i + 1}`).toBe(pictures);
        else if (pictures > 0) expect(svgs.length, `${f} code cell ${i + 1}`).toBeGreaterThan(0);
        expect(c.outputs.some((o) => o.output_type === 'error'), f).toBe(false);
      });
    }
  });
});
