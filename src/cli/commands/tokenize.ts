// `tinyllm tokenize`: text -> GPT-2 token ids (a JSON array), ids -> text, or a token count, with the
// shipped GPT-2 tokenizer or any byte-level BPE given by --tokenizer (vocab.json + merges.txt or tokenizer.json).
import * as fs from 'node:fs';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { countPiecesInFiles, gpt2, loadTokenizer, PieceCounter, tokensOfPieces, type Tokenizer } from '../../tokenizer/index.js';

export const summary = 'turn text into token ids (GPT-2 BPE by default), ids back into text, or count tokens';

const options = {
  file: { type: 'string', short: 'f', help: 'read the text (or, with --ids, the ids) from this file' },
  decode: { type: 'string', short: 'd', help: "decode these ids, e.g. '15496 995' or '[15496,995]'" },
  ids: { type: 'boolean', help: 'the input (arguments, --file or stdin) is token ids: print their text' },
  count: { type: 'boolean', short: 'c', help: 'print only the number of tokens' },
  special: { type: 'boolean', help: 'encode <|endoftext|> in the text as the special token (default: as plain text)' },
  tokenizer: { type: 'string', short: 't', help: 'directory with vocab.json + merges.txt, or a tokenizer.json (default: GPT-2)' },
} satisfies OptionSpecs;

/** Parses ids written as JSON ('[1,2]') or separated by spaces/commas; `where` names the source. */
export function parseIds(text: string, where: string, vocabSize: number): number[] {
  const parts = text.replace(/^\s*\[|\]\s*$/g, '').split(/[\s,]+/).filter((p) => p !== '');
  return parts.map((p) => {
    const id = Number(p);
    if (!/^\d+$/.test(p)) throw new UserError(`${where}: '${p}' is not a token id (expected integers separated by spaces or commas)`);
    if (id >= vocabSize) throw new UserError(`${where}: token id ${id} is outside 0..${vocabSize - 1} of this tokenizer`);
    return id;
  });
}

function readStdin(): string {
  if (process.stdin.isTTY) throw new UserError('give text as an argument, --file <path>, or pipe it on stdin (see tinyllm tokenize --help)');
  return fs.readFileSync(0, 'utf8');
}

function readInput(o: { file?: string }, positionals: string[]): { text: string; where: string } {
  if (o.file !== undefined) {
    if (positionals.length) throw new UserError(`give either text arguments or --file, not both`);
    try {
      return { text: fs.readFileSync(o.file, 'utf8'), where: o.file };
    } catch (e) {
      throw new UserError(`cannot read --file '${o.file}': ${(e as Error).message}`);
    }
  }
  if (positionals.length) return { text: positionals.join(' '), where: 'arguments' };
  return { text: readStdin(), where: 'stdin' };
}

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('tokenize', argv, options, {
    usage: '"text" | --file <path> | --decode "<ids>" | --ids <ids...> [--count] [--special] [--tokenizer <dir|tokenizer.json>]',
    summary,
    epilog: 'Examples:\n  tinyllm tokenize "Hello world"          [15496,995]\n  tinyllm tokenize --decode "15496 995"   Hello world\n  tinyllm tokenize --count --file notes.txt',
  });
  if (!parsed) return;
  const { options: o, positionals } = parsed;
  const tok: Tokenizer = o.tokenizer !== undefined ? loadTokenizer(o.tokenizer) : gpt2();
  if (o.decode !== undefined || o.ids) {
    const { text, where } = o.decode !== undefined ? { text: [o.decode, ...positionals].join(' '), where: '--decode' } : readInput(o, positionals);
    const ids = parseIds(text, where, tok.vocabSize);
    if (o.count) console.log(ids.length);
    else process.stdout.write(tok.decode(ids) + (process.stdout.isTTY ? '\n' : ''));
    return;
  }
  if (o.count && o.file !== undefined && !o.special && !positionals.length) {
    // Streamed: files of any size, memory bounded by the number of distinct pieces.
    const counter = new PieceCounter(Infinity);
    try {
      await countPiecesInFiles([o.file], counter);
    } catch (e) {
      throw new UserError(`cannot read --file '${o.file}': ${(e as Error).message}`);
    }
    console.log(tokensOfPieces(tok, counter.counts));
    return;
  }
  const { text } = readInput(o, positionals);
  const ids = tok.encode(text, { allowSpecial: o.special });
  console.log(o.count ? String(ids.length) : JSON.stringify(ids));
}
