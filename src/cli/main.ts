// The `tinyllm` command: one subcommand per pipeline step, each in src/cli/commands/<name>.ts
// exporting `summary` (one line) and `run(argv)`. Modules load lazily, so `tinyllm tokenize` on a
// Pi does not pay for the training code. UserErrors print without a stack trace. The executable
// entry point is src/cli/bin.ts.
import { readFileSync } from 'node:fs';
import { fsUserError, isFsError, UserError } from '../util/errors.js';
import { EXIT_INTERRUPTED, Interrupted } from '../util/interrupt.js';

export interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<void>;
}

/** Subcommands in pipeline order, each loaded only when used. */
const LOADERS: Record<string, () => Promise<CommandModule>> = {
  demo: () => import('./commands/demo.js'),
  datasets: () => import('./commands/datasets.js'),
  tokenize: () => import('./commands/tokenize.js'),
  'train-tokenizer': () => import('./commands/train-tokenizer.js'),
  prepare: () => import('./commands/prepare.js'),
  mix: () => import('./commands/mix.js'),
  inspect: () => import('./commands/inspect.js'),
  pretrain: () => import('./commands/pretrain.js'),
  finetune: () => import('./commands/finetune.js'),
  generate: () => import('./commands/generate.js'),
  eval: () => import('./commands/eval.js'),
  index: () => import('./commands/index.js'),
  convert: () => import('./commands/convert.js'),
  merge: () => import('./commands/merge.js'),
  export: () => import('./commands/export.js'),
  serve: () => import('./commands/serve.js'),
  info: () => import('./commands/info.js'),
};

export const COMMANDS = Object.keys(LOADERS);

function load(name: string): Promise<CommandModule> {
  return LOADERS[name]();
}

async function usage(): Promise<string> {
  const lines = ['Usage: tinyllm <command> [options]   (tinyllm <command> --help for its options; tinyllm --version)', '', 'Commands:'];
  for (const name of COMMANDS) {
    const summary = await load(name).then((m) => m.summary, () => '(unavailable)');
    lines.push(`  ${name.padEnd(16)} ${summary}`);
  }
  return lines.join('\n');
}

/** The package version (package.json sits two levels above src/cli and dist/cli). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`tinyllm ${packageVersion()}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 1;
  }
  if (!COMMANDS.includes(name)) {
    console.error(`tinyllm: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  try {
    await (await load(name)).run(rest);
    return 0;
  } catch (e) {
    const err = isFsError(e) ? fsUserError(e) : e;
    if (err instanceof UserError) {
      console.error(`tinyllm ${name}: ${err.message}`);
      return err instanceof Interrupted ? EXIT_INTERRUPTED : 1;
    }
    throw e;
  }
}
