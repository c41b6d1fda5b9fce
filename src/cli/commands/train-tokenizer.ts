// `tinyllm train-tokenizer`: learn a byte-level BPE vocabulary of a chosen size from the user's text
// files (streamed; pieces counted in a Map), and save it in Hugging Face format (vocab.json +
// merges.txt + tokenizer.json) for `--tokenizer` elsewhere. Ctrl-C stops early and saves what was learned.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseCommand, type OptionSpecs } from '../args.js';
import { UserError } from '../../util/errors.js';
import { Progress } from '../../util/progress.js';
import { Interrupted, onInterrupt } from '../../util/interrupt.js';
import { checkOutDir } from '../../util/outdir.js';
import { BpeTokenizer, countPiecesInFiles, gpt2, PieceCounter, saveTokenizer, tokensOfPieces, trainBpe } from '../../tokenizer/index.js';

export const summary = 'train a byte-level BPE tokenizer of a chosen vocabulary size on your text files';

const options = {
  'vocab-size': { type: 'number', min: 257, max: 65536, integer: true, short: 'v', help: 'tokens in the vocabulary: 256 bytes + merges + <|endoftext|>', default: 4096 },
  out: { type: 'string', short: 'o', help: 'directory to write vocab.json, merges.txt and tokenizer.json into (required)' },
  force: { type: 'boolean', help: 'replace a tokenizer already saved in --out' },
  'min-frequency': { type: 'number', min: 1, integer: true, help: 'do not merge pairs seen fewer times than this', default: 2 },
  'max-pieces': { type: 'number', min: 1000, integer: true, help: 'distinct pieces kept in memory (about 100 bytes each); beyond it the rarest are dropped', default: 2_000_000 },
} satisfies OptionSpecs;

const TOKENIZER_FILES = ['vocab.json', 'merges.txt', 'tokenizer.json'];

export async function run(argv: string[]): Promise<void> {
  const parsed = parseCommand('train-tokenizer', argv, options, { usage: '--vocab-size <n> --out <dir> <file> [file...]', summary });
  if (!parsed) return;
  const { options: o, positionals: files } = parsed;
  const vocabSize = o['vocab-size'];
  if (o.out === undefined) throw new UserError('option --out <dir> is required: where to save vocab.json, merges.txt and tokenizer.json');
  if (files.length === 0) throw new UserError('give one or more text files to train on (see tinyllm train-tokenizer --help)');
  let totalBytes = 0;
  for (const f of files) {
    let st: fs.Stats;
    try {
      st = fs.statSync(f);
    } catch {
      throw new UserError(`input file '${f}' does not exist`);
    }
    if (!st.isFile()) throw new UserError(`input '${f}' is not a file; pass the files themselves (e.g. ${path.join(f, '*.txt')})`);
    totalBytes += st.size;
  }
  // before the long work: --out must be writable, and an existing tokenizer (datasets may depend on it) is kept unless --force
  checkOutDir(o.out, { markers: TOKENIZER_FILES, force: o.force });

  const interrupt = onInterrupt('interrupted: finishing with what was learned so far and saving (Ctrl-C again to quit now)');
  try {
    const counter = new PieceCounter(o['max-pieces']);
    const reading = new Progress('reading', totalBytes, { unit: 'MB', scale: 1e6 });
    await countPiecesInFiles(files, counter, (b) => reading.update(b, `${counter.counts.size} distinct pieces`), () => interrupt.requested);
    reading.finish(`${counter.counts.size} distinct pieces`);

    const target = vocabSize - 257;
    const merging = new Progress('merging', target, { unit: 'merges' });
    const model = trainBpe(counter.counts, {
      vocabSize,
      minFrequency: o['min-frequency'],
      onMerge: (done) => merging.update(done),
      shouldStop: () => interrupt.requested,
    });
    merging.finish(`${model.merges.length} merges`);
    if (model.merges.length < target) {
      console.error(`note: stopped at ${model.tokens.length} tokens (no pair left seen ${o['min-frequency']}+ times${interrupt.requested ? ', or interrupted' : ''})`);
    }
    saveTokenizer(model, o.out);

    const bytes = [...counter.counts].reduce((n, [p, c]) => n + c * Buffer.byteLength(p), 0);
    const ours = tokensOfPieces(new BpeTokenizer(model), counter.counts);
    const theirs = tokensOfPieces(gpt2(), counter.counts);
    console.log(`saved ${path.join(o.out, 'vocab.json')}, merges.txt, tokenizer.json: ${model.tokens.length} tokens, <|endoftext|> = ${model.tokens.length - 1}`);
    console.log(`training text: ${bytes} bytes -> ${ours} tokens (${(bytes / ours).toFixed(2)} bytes/token; GPT-2: ${(bytes / theirs).toFixed(2)})`);
    if (interrupt.requested) throw new Interrupted(`stopped early; the ${model.tokens.length} tokens learned so far are saved in ${o.out}`);
  } finally {
    interrupt.dispose();
  }
}
