// Hugging Face file formats of byte-level BPE tokenizers: vocab.json + merges.txt (GPT-2's own
// encoder.json / vocab.bpe) and tokenizer.json (a BPE model with ByteLevel pre-tokenizer and decoder).
// Loading checks every entry and names the file and the bad entry; saving writes all three atomically.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { oneLine, quoteValue, UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { isObject } from '../util/guards.js';
import { BpeTokenizer } from './bpe.js';
import { bytesToToken, tokenToBytes } from './bytes.js';
import { EOT_TEXT, type BpeModel } from './types.js';

const utf8 = new TextEncoder();

function readText(file: string, what: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${what} '${file}': ${(e as Error).message}`);
  }
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON: ${oneLine((e as Error).message)}`);
  }
}

/** Token strings by id and the string -> id map from a vocab object, with every entry checked. */
function readVocab(where: string, vocab: unknown): { byId: string[]; ids: Map<string, number> } {
  if (!isObject(vocab)) throw new UserError(`${where}: expected an object mapping token strings to ids`);
  const byId: string[] = [];
  const ids = new Map<string, number>();
  for (const token of Object.keys(vocab)) {
    const id = vocab[token];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new UserError(`${where}: entry ${quoteValue(token)} has id ${quoteValue(id)}; ids must be integers >= 0`);
    }
    if (byId[id] !== undefined) throw new UserError(`${where}: entries ${quoteValue(byId[id])} and ${quoteValue(token)} both have id ${id}`);
    byId[id] = token;
    ids.set(token, id);
  }
  return { byId, ids };
}

/** Parses one merge ("a b" or ["a", "b"]) at `where` into [left, right, merged] ids. */
function readMerge(where: string, entry: unknown, ids: Map<string, number>, vocabName: string): [number, number, number] {
  let a: unknown;
  let b: unknown;
  if (typeof entry === 'string') {
    const space = entry.indexOf(' ');
    if (space > 0 && entry.indexOf(' ', space + 1) < 0) [a, b] = [entry.slice(0, space), entry.slice(space + 1)];
  } else if (Array.isArray(entry) && entry.length === 2) [a, b] = entry;
  if (typeof a !== 'string' || typeof b !== 'string' || !a || !b) {
    throw new UserError(`${where}: expected two tokens separated by one space, got ${quoteValue(entry)}`);
  }
  const left = ids.get(a);
  const right = ids.get(b);
  const merged = ids.get(a + b);
  if (left === undefined || right === undefined || merged === undefined) {
    const missing = left === undefined ? a : right === undefined ? b : a + b;
    throw new UserError(`${where}: merge ${quoteValue(`${a} ${b}`)} needs the token ${quoteValue(missing)}, which is not in ${vocabName}`);
  }
  return [left, right, merged];
}

/** Builds the model from checked pieces; `special` lists the text of special tokens and their ids. */
function buildModel(where: string, byId: string[], special: Map<string, number>, merges: Array<[number, number, number]>): BpeTokenizer {
  const specialIds = new Map([...special].map(([text, id]) => [id, text]));
  const size = Math.max(byId.length, ...[...special.values()].map((id) => id + 1));
  const tokens: Uint8Array[] = [];
  for (let id = 0; id < size; id++) {
    const text = specialIds.get(id);
    if (text !== undefined) {
      if (byId[id] !== undefined && byId[id] !== text) throw new UserError(`${where}: id ${id} is ${quoteValue(byId[id])} in the vocabulary but the special token ${quoteValue(text)}`);
      tokens.push(utf8.encode(text));
      continue;
    }
    const token = byId[id];
    if (token === undefined) throw new UserError(`${where}: no token has id ${id}; ids must run from 0 to ${size - 1} without gaps`);
    const bytes = tokenToBytes(token);
    if (bytes === null) {
      const bad = [...token].find((ch) => tokenToBytes(ch) === null) as string;
      const code = (bad.codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
      throw new UserError(`${where}: token ${quoteValue(token)} (id ${id}) contains '${bad}' (U+${code}), which is not in the byte-level alphabet; only byte-level BPE vocabularies (GPT-2 style) are supported`);
    }
    tokens.push(bytes);
  }
  if (!special.has(EOT_TEXT)) {
    throw new UserError(`${where}: there is no ${EOT_TEXT} token, which TinyLLM puts before every document; add "${EOT_TEXT}": ${size} to the vocabulary`);
  }
  try {
    return new BpeTokenizer({ tokens, merges, special });
  } catch (e) {
    throw new UserError(`${where}: ${(e as Error).message}`);
  }
}

/** Loads GPT-2 / Hugging Face `vocab.json` + `merges.txt`. <|endoftext|> in the vocabulary is the special token. */
export function loadVocabMerges(vocabFile: string, mergesFile: string): BpeTokenizer {
  const { byId, ids } = readVocab(vocabFile, parseJson(vocabFile, readText(vocabFile, 'vocabulary')));
  const lines = readText(mergesFile, 'merges file').split(/\r?\n/);
  const merges: Array<[number, number, number]> = [];
  const vocabName = path.basename(vocabFile);
  lines.forEach((line, i) => {
    if (line === '' || (i === 0 && line.startsWith('#version'))) return;
    merges.push(readMerge(`${mergesFile} line ${i + 1}`, line, ids, vocabName));
  });
  const special = new Map<string, number>();
  const eot = ids.get(EOT_TEXT);
  if (eot !== undefined) special.set(EOT_TEXT, eot);
  return buildModel(vocabFile, byId, special, merges);
}

/**
 * Builds a tokenizer from token strings in id order (vocab.json spelling; the ids in `specialIds` are special
 * tokens holding their text) and "left right" merges in rank order, as GGUF's tokenizer.ggml.tokens and
 * tokenizer.ggml.merges store them. `where` names the source in errors.
 */
export function tokenizerFromStrings(where: string, strings: readonly string[], specialIds: ReadonlySet<number>, merges: readonly string[]): BpeTokenizer {
  const byId: string[] = [];
  const ids = new Map<string, number>();
  const special = new Map<string, number>();
  strings.forEach((token, id) => {
    if (specialIds.has(id)) special.set(token, id);
    else {
      byId[id] = token;
      ids.set(token, id);
    }
  });
  const pairs = merges.map((m, i) => readMerge(`${where} merges[${i}]`, m, ids, 'the token list'));
  return buildModel(where, byId, special, pairs);
}

/** Rejects tokenizer.json settings this encoder does not implement (it always does GPT-2's byte-level split). */
function checkGpt2Style(file: string, root: Record<string, unknown>): void {
  const model = root.model as Record<string, unknown>;
  if (model.type !== undefined && model.type !== 'BPE') throw new UserError(`${file}: model.type is ${quoteValue(model.type)}; only BPE models are supported`);
  if (root.normalizer !== undefined && root.normalizer !== null) {
    throw new UserError(`${file}: normalizer ${quoteValue(root.normalizer)} is not supported; only GPT-2 style tokenizers (normalizer: null) are`);
  }
  const pre = root.pre_tokenizer;
  const parts = isObject(pre) && pre.type === 'Sequence' && Array.isArray(pre.pretokenizers) ? pre.pretokenizers : [pre];
  for (const p of parts) {
    if (!isObject(p) || p.type !== 'ByteLevel' || p.add_prefix_space === true || p.use_regex === false) {
      throw new UserError(`${file}: pre_tokenizer ${quoteValue(p)} is not supported; only GPT-2's (ByteLevel, add_prefix_space false, use_regex true) is`);
    }
  }
}

/** Loads a Hugging Face `tokenizer.json` holding a byte-level BPE model. Its added tokens are the special tokens. */
export function loadTokenizerJson(file: string): BpeTokenizer {
  return parseTokenizerJson(file, readText(file, 'tokenizer file'));
}

/** Parses tokenizer.json text; `file` names its origin in errors (e.g. a model file it is embedded in). */
export function parseTokenizerJson(file: string, text: string): BpeTokenizer {
  const root = parseJson(file, text);
  if (!isObject(root) || !isObject(root.model)) throw new UserError(`${file}: expected a Hugging Face tokenizer.json with a "model" object`);
  checkGpt2Style(file, root);
  const model = root.model;
  const { byId, ids } = readVocab(`${file} model.vocab`, model.vocab);
  if (!Array.isArray(model.merges)) throw new UserError(`${file}: model.merges must be an array`);
  const merges = model.merges.map((m: unknown, i: number) => readMerge(`${file} model.merges[${i}]`, m, ids, 'model.vocab'));
  const special = new Map<string, number>();
  const added = root.added_tokens ?? [];
  if (!Array.isArray(added)) throw new UserError(`${file}: added_tokens must be an array`);
  added.forEach((t: unknown, i: number) => {
    if (!isObject(t) || typeof t.content !== 'string' || typeof t.id !== 'number' || !Number.isInteger(t.id) || t.id < 0) {
      throw new UserError(`${file} added_tokens[${i}]: expected {"id": <integer>, "content": <string>, ...}, got ${quoteValue(t)}`);
    }
    special.set(t.content, t.id);
  });
  if (!special.has(EOT_TEXT) && ids.has(EOT_TEXT)) special.set(EOT_TEXT, ids.get(EOT_TEXT) as number);
  return buildModel(file, byId, special, merges);
}

/** Loads a tokenizer from a directory (vocab.json + merges.txt, else tokenizer.json) or a tokenizer.json file. */
export function loadTokenizer(pathOrDir: string): BpeTokenizer {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(pathOrDir);
  } catch {
    throw new UserError(`tokenizer '${pathOrDir}' does not exist; give a directory with vocab.json + merges.txt, or a tokenizer.json file`);
  }
  if (!stat.isDirectory()) return loadTokenizerJson(pathOrDir);
  const vocab = path.join(pathOrDir, 'vocab.json');
  const merges = path.join(pathOrDir, 'merges.txt');
  if (fs.existsSync(vocab) && fs.existsSync(merges)) return loadVocabMerges(vocab, merges);
  const json = path.join(pathOrDir, 'tokenizer.json');
  if (fs.existsSync(json)) return loadTokenizerJson(json);
  throw new UserError(`tokenizer directory '${pathOrDir}' has neither vocab.json + merges.txt nor tokenizer.json`);
}

/**
 * Copies the Hugging Face files of a tokenizer (a tokenizerSpec: 'gpt2' or a directory / tokenizer.json path)
 * into `dir`, so an exported model carries the tokenizer its ids belong to; returns the file names written.
 */
export function copyTokenizerFiles(spec: string, gpt2Dir: string, dir: string): string[] {
  const from = spec === 'gpt2' ? gpt2Dir : spec;
  const files = fs.statSync(from).isDirectory()
    ? ['vocab.json', 'merges.txt', 'tokenizer.json'].filter((f) => fs.existsSync(path.join(from, f))).map((f) => [path.join(from, f), f])
    : [[from, 'tokenizer.json']];
  for (const [src, name] of files) writeFileAtomic(path.join(dir, name), fs.readFileSync(src));
  return files.map(([, name]) => name);
}

/** Token strings by id as written in vocab.json: byte-level spelling, special tokens as their text. */
export function tokenStrings(model: BpeModel): string[] {
  const out = model.tokens.map((bytes) => bytesToToken(bytes));
  for (const [text, id] of model.special) out[id] = text;
  return out;
}

/** Token strings by id and merges.txt lines ("a b"). */
function spelled(model: BpeModel): { strings: string[]; mergeLines: string[] } {
  const strings = tokenStrings(model);
  return { strings, mergeLines: model.merges.map(([a, b]) => `${strings[a]} ${strings[b]}`) };
}

/** vocab.json text in id order (JSON.stringify would move integer-like keys such as "0" first). */
function vocabJson(strings: string[], indent = ''): string {
  if (!indent) return `{${strings.map((t, id) => `${JSON.stringify(t)}:${id}`).join(',')}}`;
  return `{\n${strings.map((t, id) => `${indent}  ${JSON.stringify(t)}: ${id}`).join(',\n')}\n${indent}}`;
}

/** Writes vocab.json, merges.txt and tokenizer.json (Hugging Face formats) into `dir`. */
export function saveTokenizer(model: BpeModel, dir: string): void {
  const { strings, mergeLines } = spelled(model);
  writeFileAtomic(path.join(dir, 'vocab.json'), vocabJson(strings));
  writeFileAtomic(path.join(dir, 'merges.txt'), `#version: 0.2\n${mergeLines.join('\n')}\n`);
  writeFileAtomic(path.join(dir, 'tokenizer.json'), tokenizerJsonText(model));
}

/** The Hugging Face tokenizer.json text of a byte-level BPE model (what saveTokenizer writes). */
export function tokenizerJsonText(model: BpeModel): string {
  const { strings, mergeLines } = spelled(model);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const placeholder = '\u0000vocab\u0000';
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...model.special]
      .sort((x, y) => x[1] - y[1])
      .map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab: placeholder, merges: mergeLines,
    },
  };
  const json = JSON.stringify(doc, null, 2).replace(JSON.stringify(placeholder), () => vocabJson(strings, '    '));
  return `${json}\n`;
}
