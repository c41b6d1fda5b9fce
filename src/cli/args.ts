// The option parser every `tinyllm` subcommand uses: typed flags (--name value / --name=value /
// boolean --flag), defaults, positionals, a generated --help, and errors that name the flag. Every
// numeric flag declares its range (min, optional max, whole numbers or not), checked here for all commands.
import { quote, UserError } from '../util/errors.js';

export type OptionType = 'string' | 'number' | 'boolean';

interface BaseSpec {
  help: string;
  default?: string | number | boolean;
  /** One-letter alias, e.g. 'o' for -o. */
  short?: string;
  /** May be given several times (collects an array). */
  multiple?: boolean;
}

/** A numeric flag must say which values make sense: at least `min`, at most `max`, whole numbers if `integer`. */
export interface NumberSpec extends BaseSpec {
  type: 'number';
  min: number;
  max?: number;
  integer?: boolean;
}

export type OptionSpec = (BaseSpec & { type: 'string' | 'boolean' }) | NumberSpec;

export type OptionSpecs = Record<string, OptionSpec>;

type ValueOf<S extends OptionSpec> = S['type'] extends 'number' ? number : S['type'] extends 'boolean' ? boolean : string;
export type ParsedOptions<S extends OptionSpecs> = {
  [K in keyof S]: S[K]['multiple'] extends true ? ValueOf<S[K]>[] : S[K]['default'] extends undefined ? ValueOf<S[K]> | undefined : ValueOf<S[K]>;
};

export interface Parsed<S extends OptionSpecs> {
  options: ParsedOptions<S>;
  positionals: string[];
  help: boolean;
}

export function parseArgs<S extends OptionSpecs>(command: string, argv: string[], specs: S): Parsed<S> {
  const out: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(specs)) out[name] = spec.multiple ? [] : spec.default;
  const positionals: string[] = [];
  let help = false;
  const byShort = new Map(Object.entries(specs).filter(([, s]) => s.short).map(([n, s]) => [s.short as string, n]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      if (!(name in specs) && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') {
        out[name.slice(3)] = false;
        continue;
      }
    } else if (/^-[A-Za-z]$/.test(arg)) {
      name = byShort.get(arg[1]);
      if (!name) throw new UserError(`unknown option ${quote(arg)} (see tinyllm ${command} --help)`);
    } else {
      positionals.push(arg);
      continue;
    }
    const spec = specs[name];
    if (!spec) throw new UserError(`unknown option ${quote(`--${name}`)} (see tinyllm ${command} --help)`);
    let value: unknown;
    if (spec.type === 'boolean') {
      value = inline === undefined ? true : !/^(false|0|no)$/i.test(inline);
    } else {
      const raw = inline ?? argv[++i];
      if (raw === undefined) throw new UserError(`option --${name} needs a value (see tinyllm ${command} --help)`);
      if (spec.type === 'number') {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n)) throw new UserError(`option --${name} expects a number, got ${quote(raw)}`);
        checkRange(name, n, spec);
        value = n;
      } else value = raw;
    }
    if (spec.multiple) (out[name] as unknown[]).push(value);
    else out[name] = value;
  }
  return { options: out as ParsedOptions<S>, positionals, help };
}

/** Throws a UserError naming the flag when `n` is outside the flag's declared range. */
export function checkRange(flag: string, n: number, spec: Pick<NumberSpec, 'min' | 'max' | 'integer'>): number {
  if ((spec.integer && !Number.isInteger(n)) || n < spec.min || (spec.max !== undefined && n > spec.max)) {
    const what = spec.integer ? 'a whole number' : 'a number';
    const range = spec.max === undefined ? `≥ ${spec.min}` : `from ${spec.min} to ${spec.max}`;
    throw new UserError(`option --${flag} must be ${what} ${range}, got ${n}`);
  }
  return n;
}

export interface CommandHelp {
  /** What follows `tinyllm <command>` on the usage line. */
  usage: string;
  summary: string;
  /** Printed after the options, e.g. examples. */
  epilog?: string;
}

/**
 * parseArgs for a subcommand's run(): on --help it prints formatHelp (and the epilog) and returns
 * undefined, so the command just returns.
 */
export function parseCommand<S extends OptionSpecs>(command: string, argv: string[], specs: S, help: CommandHelp): Omit<Parsed<S>, 'help'> | undefined {
  const parsed = parseArgs(command, argv, specs);
  if (!parsed.help) return parsed;
  console.log(formatHelp(command, help.usage, help.summary, specs) + (help.epilog ? `\n\n${help.epilog}` : ''));
  return undefined;
}

/** Help text: usage line, then one line per option with its default. */
export function formatHelp(command: string, usage: string, summary: string, specs: OptionSpecs): string {
  const lines = [`Usage: tinyllm ${command} ${usage}`, '', summary, '', 'Options:'];
  for (const [name, s] of Object.entries(specs)) {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.type === 'boolean' ? '' : ` <${s.type}>`}`;
    const def = s.default !== undefined ? ` (default: ${s.default})` : '';
    lines.push(`  ${flag.padEnd(30)} ${s.help}${def}`);
  }
  lines.push(`  ${'-h, --help'.padEnd(30)} show this help`);
  return lines.join('\n');
}
