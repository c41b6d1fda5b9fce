// The notebook runner: type-checks every notebooks/*.ipynb's code cells, executes them in order under Node
// (through tsx, as one module per notebook, each in its own process), fails naming the notebook, the cell and
// the line, and with --refresh writes the outputs (stdout/stderr streams, SVG display data) back into the files.
//   npm run notebooks                     run all, check only (nothing written)
//   npm run notebooks -- --refresh        run all at full size and store their outputs
//   npm run notebooks -- --quick 03 05    small sizes (TINYLLM_NOTEBOOK_QUICK=1, what the test suite runs), a subset
// Cells import the library as 'tinyllm-ts' and Jupyter's display as 'tslab'; notebooks/tsconfig.json maps
// both (to src/index.ts and to scripts/notebooks/tslab.ts), for tsx through a flattened copy (tsxConfig). See notebooks/README.md.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { writeFileAtomic } from '../src/util/fs.js';
import { setDisplaySink } from './notebooks/tslab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const NOTEBOOKS = path.join(ROOT, 'notebooks');
const CELL_HOOK = '__tinyllmNotebookCell';

type Output =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string[] }
  | { output_type: 'display_data'; data: Record<string, string[]>; metadata: Record<string, never> };
interface Cell {
  cell_type: 'code' | 'markdown' | 'raw';
  id?: string;
  source: string[] | string;
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
}
interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: Cell[];
}
/** What a child process reports: outputs per code cell, and the failure if any. */
interface RunResult {
  outputs: Output[][];
  error: { cell: number; line: number | null; message: string } | null;
}

const sourceOf = (c: Cell): string => (Array.isArray(c.source) ? c.source.join('') : c.source);
/** Jupyter's on-disk form of multi-line strings: one entry per line, each keeping its '\n'. */
const lines = (s: string): string[] => s.split(/(?<=\n)/).filter((l) => l !== '');

function readNotebook(file: string): Notebook {
  let nb: Notebook;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: not a readable .ipynb JSON file (${(e as Error).message})`);
  }
  if (nb.nbformat !== 4 || !Array.isArray(nb.cells)) throw new Error(`${file}: expected an nbformat 4 notebook with a cells array`);
  return nb;
}

/**
 * The notebook as one TypeScript module: each code cell's source preceded by a call telling the runner which
 * cell is running. Returns the module and the first line of each cell in it (to map error lines back).
 */
function toModule(codeCells: string[]): { source: string; starts: number[] } {
  const parts: string[] = [];
  const starts: number[] = [];
  let line = 1;
  codeCells.forEach((src, i) => {
    parts.push(`(globalThis as any).${CELL_HOOK}(${i});\n`);
    starts.push(line + 1);
    const body = src.endsWith('\n') ? src : `${src}\n`;
    parts.push(body);
    line += 1 + body.split('\n').length - 1;
  });
  parts.push('export {};\n');
  return { source: parts.join(''), starts };
}

/**
 * Type-checks the notebooks' code cells with notebooks/tsconfig.json (tsx only strips types, so a wrong option
 * name would otherwise pass silently). Returns one error line per problem: notebook, cell, line, message.
 */
function typecheck(files: string[]): string[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-notebook-types-'));
  try {
    const modules = new Map<string, { file: string; nb: Notebook; starts: number[] }>();
    for (const file of files) {
      const nb = readNotebook(file);
      const { source, starts } = toModule(nb.cells.filter((c) => c.cell_type === 'code').map(sourceOf));
      const mod = path.join(dir, `${path.basename(file, '.ipynb')}.mts`);
      fs.writeFileSync(mod, `declare global { var ${CELL_HOOK}: (i: number) => void; }\n${source}`);
      modules.set(mod, { file, nb, starts: starts.map((l) => l + 1) });
    }
    const program = ts.createProgram([...modules.keys()], { ...notebookConfig().options, noEmit: true });
    const problems: string[] = [];
    // diagnostics of the notebook modules only: the library's own bodies are checked by npm run typecheck
    const diagnostics = [...program.getOptionsDiagnostics(), ...[...modules.keys()].flatMap((f) => ts.getPreEmitDiagnostics(program, program.getSourceFile(f)))];
    for (const d of diagnostics) {
      const m = d.file && modules.get(path.resolve(d.file.fileName));
      const text = ts.flattenDiagnosticMessageText(d.messageText, ' ');
      if (!m || d.start === undefined) {
        problems.push(`type error: ${text}`);
        continue;
      }
      const line = d.file!.getLineAndCharacterOfPosition(d.start).line + 1;
      const cell = Math.max(0, m.starts.filter((s) => s <= line).length - 1);
      problems.push(`${path.relative(process.cwd(), m.file)}: ${cellName(m.nb, cell)}, line ${line - m.starts[cell] + 1}: type error: ${text}`);
    }
    return problems;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** notebooks/tsconfig.json as TypeScript reads it (its `extends` of the repository's tsconfig.json resolved). */
function notebookConfig(): ts.ParsedCommandLine {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(NOTEBOOKS, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} });
  if (!config) throw new Error('notebooks/tsconfig.json could not be read');
  return config;
}

/**
 * Writes the tsconfig tsx runs the notebooks with into `dir` and returns its path: notebooks/tsconfig.json's path
 * mappings (made absolute) and target, without `extends`, which tsx (4.23) follows with Array.prototype.toReversed,
 * missing on Node 18. tsx takes nothing else from a tsconfig that matters here (type-checking is typecheck's).
 */
function tsxConfig(dir: string): string {
  const { options } = notebookConfig();
  const paths = Object.fromEntries(Object.entries(options.paths ?? {}).map(([name, to]) => [name, to.map((p) => path.resolve(NOTEBOOKS, p))]));
  const file = path.join(dir, 'tsconfig.json');
  fs.writeFileSync(file, JSON.stringify({ compilerOptions: { target: ts.ScriptTarget[options.target ?? ts.ScriptTarget.ES2022], paths } }));
  return file;
}

/** "cell 5 (In [3])": the position among all cells, and the execution count Jupyter shows. */
function cellName(nb: Notebook, codeIndex: number): string {
  const at = nb.cells.map((c, i) => [c, i] as const).filter(([c]) => c.cell_type === 'code')[codeIndex]?.[1];
  return `cell ${at} (In [${codeIndex + 1}])`;
}

/** Child side: run one notebook in this process, capturing outputs per cell; write a RunResult as JSON. */
async function runChild(file: string, resultFile: string): Promise<void> {
  const nb = readNotebook(file);
  const code = nb.cells.filter((c) => c.cell_type === 'code').map(sourceOf);
  const { source, starts } = toModule(code);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-notebook-'));
  const modFile = path.join(dir, `${path.basename(file, '.ipynb')}.mts`); // .mts: an ES module wherever it lies (top-level await)
  fs.writeFileSync(modFile, source);
  const outputs: Output[][] = code.map(() => []);
  let current = -1;
  const emit = (name: 'stdout' | 'stderr', text: string): void => {
    if (current < 0) return;
    const outs = outputs[current];
    const last = outs[outs.length - 1];
    if (last?.output_type === 'stream' && last.name === name) last.text.push(text);
    else outs.push({ output_type: 'stream', name, text: [text] });
  };
  (globalThis as Record<string, unknown>)[CELL_HOOK] = (i: number) => (current = i);
  setDisplaySink((mime, data) => {
    if (current >= 0) outputs[current].push({ output_type: 'display_data', data: { [mime]: lines(data), 'text/plain': [`<${mime} output>`] }, metadata: {} });
  });
  const realWrite = { stdout: process.stdout.write.bind(process.stdout), stderr: process.stderr.write.bind(process.stderr) };
  for (const name of ['stdout', 'stderr'] as const) {
    process[name].write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      emit(name, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof process.stdout.write;
  }
  let error: RunResult['error'] = null;
  try {
    await import(pathToFileURL(modFile).href);
  } catch (e) {
    const err = e as Error;
    // the first stack line in the generated module, mapped back to a line of the failing cell
    const m = new RegExp(`${path.basename(modFile).replace(/\./g, '\\.')}:(\\d+)`).exec(err?.stack ?? '');
    const modLine = m ? Number(m[1]) : null;
    let cell = Math.max(current, 0);
    if (modLine !== null) cell = Math.max(0, starts.filter((s) => s <= modLine).length - 1);
    // a transform (syntax) error says what is wrong on its second line
    const message = String(err?.message ?? e).split('\n').filter(Boolean).slice(0, 2).join(' ');
    error = { cell, line: modLine !== null ? modLine - starts[cell] + 1 : null, message };
  } finally {
    process.stdout.write = realWrite.stdout;
    process.stderr.write = realWrite.stderr;
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // merge each stream's chunks into Jupyter's line list
  for (const outs of outputs) for (const o of outs) if (o.output_type === 'stream') o.text = lines(o.text.join(''));
  fs.writeFileSync(resultFile, JSON.stringify({ outputs, error } satisfies RunResult));
}

/** Parent side: run one notebook in a child process; returns its result (or the crash as an error). */
function runNotebook(file: string, quick: boolean, tsconfig: string): RunResult {
  const resultFile = path.join(os.tmpdir(), `tinyllm-notebook-${process.pid}-${path.basename(file)}.json`);
  fs.rmSync(resultFile, { force: true });
  // tsx's loader by absolute URL: the child's working directory may lie outside this repository
  const tsx = import.meta.resolve('tsx');
  const r = spawnSync(process.execPath, ['--import', tsx, fileURLToPath(import.meta.url), '--child', file, resultFile], {
    cwd: path.dirname(file), // as Jupyter: cells run in the notebook's directory
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig, TINYLLM_NOTEBOOK_QUICK: quick ? '1' : '', FORCE_COLOR: '0' },
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  try {
    return JSON.parse(fs.readFileSync(resultFile, 'utf8')) as RunResult;
  } catch {
    const why = (r.stderr || r.stdout || `exit code ${r.status}`).trim().split('\n').slice(-3).join(' | ');
    return { outputs: [], error: { cell: -1, line: null, message: `the runner's child process died: ${why}` } };
  } finally {
    fs.rmSync(resultFile, { force: true });
  }
}

/** Stores the outputs in the notebook's code cells, numbered in order as a fresh kernel would. */
function withOutputs(nb: Notebook, outputs: Output[][]): Notebook {
  let i = 0;
  const cells = nb.cells.map((c) => {
    if (c.cell_type !== 'code') return c;
    const n = i++;
    return { ...c, execution_count: n + 1, outputs: outputs[n] ?? [] };
  });
  return { ...nb, cells };
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === '--child') {
    await runChild(argv[1], argv[2]);
    return 0;
  }
  const refresh = argv.includes('--refresh');
  const quick = argv.includes('--quick');
  const bad = argv.filter((a) => a.startsWith('--') && a !== '--refresh' && a !== '--quick');
  if (bad.length) {
    console.error(`unknown option ${bad[0]}; usage: tsx scripts/notebooks.ts [--refresh] [--quick] [name-prefix | file.ipynb | dir ...]`);
    return 2;
  }
  if (refresh && quick) {
    console.error('--refresh stores the full-size outputs; leave out --quick');
    return 2;
  }
  const args = argv.filter((a) => !a.startsWith('--'));
  const inDir = (d: string) => fs.readdirSync(d).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(d, f));
  const all = inDir(NOTEBOOKS);
  const files = args.length === 0
    ? all
    : args.flatMap((a) => {
        if (fs.existsSync(a) && fs.statSync(a).isDirectory()) return inDir(path.resolve(a));
        if (a.endsWith('.ipynb')) return [path.resolve(a)];
        const hits = all.filter((f) => path.basename(f).startsWith(a));
        if (!hits.length) throw new Error(`no notebook in notebooks/ starts with '${a}'`);
        return hits;
      });
  const typeErrors = typecheck(files);
  if (typeErrors.length) {
    for (const e of typeErrors) console.error(`✗ ${e}`);
    console.error(`${typeErrors.length} type error(s) in notebook cells; nothing was run`);
    return 1;
  }
  let failed = 0;
  const configDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyllm-notebook-tsx-'));
  const tsconfig = tsxConfig(configDir);
  try {
    for (const file of files) {
      const name = path.relative(process.cwd(), file);
      const t0 = performance.now();
      const nb = readNotebook(file);
      if (process.stdout.isTTY) process.stdout.write(`… ${name}\r`); // overwritten by the result line
      const r = runNotebook(file, quick, tsconfig);
      const secs = ((performance.now() - t0) / 1000).toFixed(1);
      if (r.error) {
        failed++;
        const { cell, line, message } = r.error;
        const where = cell < 0 ? '' : ` ${cellName(nb, cell)}${line !== null ? `, line ${line}` : ''}`;
        console.error(`✗ ${name}:${where}: ${message} (${secs} s)`);
        continue;
      }
      if (refresh) writeFileAtomic(file, JSON.stringify(withOutputs(nb, r.outputs), null, 1) + '\n');
      console.log(`✓ ${name} (${secs} s${refresh ? ', outputs stored' : ''})`);
    }
  } finally {
    fs.rmSync(configDir, { recursive: true, force: true });
  }
  if (failed) console.error(`${failed} of ${files.length} notebooks failed`);
  return failed ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(String((e as Error).message ?? e));
    process.exitCode = 2;
  },
);
