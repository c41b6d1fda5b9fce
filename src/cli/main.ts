#!/usr/bin/env node
// The `tinyllm` command: one subcommand per pipeline step, each in src/cli/commands/<name>.ts
// exporting `summary` (one line) and `run(argv)`. Modules load lazily, so `tinyllm tokenize` on a
// Pi does not pay for the training code. UserErrors print without a stack trace.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';

export interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<void>;
}

/** Subcommands in pipeline order. */
export const COMMANDS = [
  'demo',
  'datasets',
  'tokenize',
  'train-tokenizer',
  'prepare',
  'mix',
  'inspect',
  'pretrain',
  'generate',
  'convert',
  'info',
] as const;

async function load(name: string): Promise<CommandModule> {
  return (await import(`./commands/${name}.js`)) as CommandModule;
}

async function usage(): Promise<string> {
  const lines = ['Usage: tinyllm <command> [options]   (tinyllm <command> --help for its options)', '', 'Commands:'];
  for (const name of COMMANDS) {
    const summary = await load(name).then((m) => m.summary, () => '(unavailable)');
    lines.push(`  ${name.padEnd(16)} ${summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name ? 0 : 1;
  }
  if (!(COMMANDS as readonly string[]).includes(name)) {
    console.error(`tinyllm: unknown command '${name}'\n\n${await usage()}`);
    return 2;
  }
  try {
    await (await load(name)).run(rest);
    return 0;
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`tinyllm ${name}: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

const invokedDirectly = process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
