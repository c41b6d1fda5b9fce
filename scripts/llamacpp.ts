// node-llama-cpp (prebuilt llama.cpp for Node) as an on-demand tool, never a dependency: it is ~700 MB with its
// GPU variants, so `npx tsx scripts/llamacpp.ts install` puts the pinned version into the git-ignored
// .cache/llamacpp, and loadNodeLlamaCpp() imports it from there (null when it is not installed). Only the
// few calls the checks and benchmarks use are typed here.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Newer releases' lock files fail to install on our machines (see the issue); this one is checked. */
export const NODE_LLAMA_CPP_VERSION = '3.21.1';
export const LLAMACPP_DIR = fileURLToPath(new URL('../.cache/llamacpp/', import.meta.url));
const PKG_DIR = path.join(LLAMACPP_DIR, 'node_modules', 'node-llama-cpp');

export interface LlamaContextSequence {
  controlledEvaluate(
    input: Array<number | [number, { generateNext?: { probabilities?: boolean; options?: Record<string, number> } }]>,
  ): Promise<Array<undefined | { next: { probabilities?: Map<number, number> } }>>;
  evaluate(tokens: number[], options?: Record<string, unknown>): AsyncGenerator<number>;
}
export interface LlamaModel {
  tokenize(text: string): number[];
  createContext(options: { contextSize: number; threads: number; batchSize?: number }): Promise<{ getSequence(): LlamaContextSequence; dispose(): Promise<void> }>;
  dispose(): Promise<void>;
}
export interface NodeLlamaCpp {
  getLlama(options: { gpu: false; build: 'never'; logLevel?: string }): Promise<{ loadModel(options: { modelPath: string; gpuLayers?: number }): Promise<LlamaModel>; dispose(): Promise<void> }>;
  readGgufFileInfo(file: string, options?: { readTensorInfo?: boolean }): Promise<{
    version: number;
    metadata: Record<string, unknown>;
    tensorInfo?: Array<{ name: string; dimensions: Array<number | bigint>; ggmlType: number; offset: number | bigint }>;
  }>;
}

/** The installed node-llama-cpp, or null (with the reason) when it is missing or another version. */
export async function loadNodeLlamaCpp(): Promise<{ mod: NodeLlamaCpp } | { mod: null; reason: string }> {
  const pkgFile = path.join(PKG_DIR, 'package.json');
  if (!fs.existsSync(pkgFile)) return { mod: null, reason: `node-llama-cpp is not installed in ${LLAMACPP_DIR} (run: npx tsx scripts/llamacpp.ts install)` };
  const pkg = JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string };
  if (pkg.version !== NODE_LLAMA_CPP_VERSION) return { mod: null, reason: `node-llama-cpp ${pkg.version} is installed, the checks are pinned to ${NODE_LLAMA_CPP_VERSION} (rerun: npx tsx scripts/llamacpp.ts install)` };
  return { mod: (await import(pathToFileURL(path.join(PKG_DIR, 'dist', 'index.js')).href)) as NodeLlamaCpp };
}

/** npm-installs the pinned node-llama-cpp into .cache/llamacpp (its own package.json, outside the project's lock file). */
export function installNodeLlamaCpp(): void {
  fs.mkdirSync(LLAMACPP_DIR, { recursive: true });
  const manifest = path.join(LLAMACPP_DIR, 'package.json');
  if (!fs.existsSync(manifest)) fs.writeFileSync(manifest, `${JSON.stringify({ name: 'tinyllm-llamacpp-tools', private: true }, null, 2)}\n`);
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  execFileSync(npm, ['install', '--no-audit', '--no-fund', '--save-exact', `node-llama-cpp@${NODE_LLAMA_CPP_VERSION}`], { cwd: LLAMACPP_DIR, stdio: 'inherit' });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv[2] !== 'install') {
    console.error('usage: npx tsx scripts/llamacpp.ts install   (puts node-llama-cpp into .cache/llamacpp, ~700 MB)');
    process.exit(2);
  }
  const t0 = performance.now();
  installNodeLlamaCpp();
  const found = await loadNodeLlamaCpp();
  if (!found.mod) throw new Error(found.reason);
  console.log(`node-llama-cpp ${NODE_LLAMA_CPP_VERSION} installed in ${LLAMACPP_DIR} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
