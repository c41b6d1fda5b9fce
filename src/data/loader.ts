// ShardLoader: serves (B, T+1) token batches from llm.c-format shards for training, like llm.c's
// DataLoader (dataloader.h) — inputs are row[:T], targets row[1:] — but reading each window straight
// from disk (constant memory), shuffling all windows of all shards per epoch with a seeded O(1)-memory
// permutation, and saving/restoring its exact position for resumable training.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { quoteValue, UserError } from '../util/errors.js';
import { Permutation } from './permutation.js';
import { checkShardIds, readShardHeader, readShardTokens } from './shard.js';

export type Split = 'train' | 'val';

export interface ShardLoaderOptions {
  /**
   * Which shards to read, one of:
   * - a prefix `dir/<name>_<split>` (files `dir/<name>_<split>_000000.bin`, `…_000001.bin`, …),
   * - a directory holding one dataset (its `*_<split>_NNNNNN.bin`, with `split` below, default 'train'),
   * - a single `.bin` shard file.
   */
  pattern: string;
  /** Rows per batch. */
  B: number;
  /** Sequence length; each row holds T+1 tokens. */
  T: number;
  /** Seed of the per-epoch shuffle (default 1337). */
  seed?: number;
  /** Visit windows in shuffled order (default true); false reads the shards in order like llm.c's val loader. */
  shuffle?: boolean;
  /** Split to read when `pattern` is a directory (default 'train'). */
  split?: Split;
  /** If given, every token of every shard is checked to be below it when the loader opens (a clear error naming shard, offset and id instead of an out-of-range embedding mid-run). */
  vocabSize?: number;
}

/** A JSON-serializable loader position: restoring it replays exactly the same batches. */
export interface LoaderState {
  version: 1;
  epoch: number;
  /** Windows already served in this epoch. */
  position: number;
  seed: number;
  shuffle: boolean;
  T: number;
  /** Shard file names (without directory) and token counts, to detect that the data changed. */
  shards: { file: string; tokens: number }[];
}

const SHARD_RE = /_(train|val)_(\d{6})\.bin$/;

/** Shards of one split in a directory, sorted by name; a UserError if there are none or several datasets' shards. */
export function findShards(dir: string, split: Split): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (e) {
    throw new UserError(`${dir}: cannot read shard directory (${(e as NodeJS.ErrnoException).code ?? String(e)}); check the path or run 'tinyllm prepare --out ${dir}' first`);
  }
  const found = names.filter((n) => SHARD_RE.exec(n)?.[1] === split).sort();
  if (found.length === 0) {
    throw new UserError(`${dir}: no '${split}' shards (files named <name>_${split}_000000.bin); create them with 'tinyllm prepare --out ${dir}'`);
  }
  const datasets = [...new Set(found.map((n) => n.replace(SHARD_RE, '')))];
  if (datasets.length > 1) {
    throw new UserError(
      `${dir}: holds '${split}' shards of ${datasets.length} datasets (${datasets.join(', ')}); ` +
        `name one as ${path.join(dir, `<name>_${split}`)}, e.g. ${path.join(dir, `${datasets[0]}_${split}`)}`,
    );
  }
  return found.map((n) => path.join(dir, n));
}

/**
 * The same dataset's shards of another split: 'dir/x_train' → 'dir/x_val', 'dir/x_train_000003.bin' →
 * 'dir/x_val'; a directory stays a directory (pass `split` to the loader).
 */
export function splitPattern(pattern: string, split: Split): string {
  if (fs.statSync(pattern, { throwIfNoEntry: false })?.isDirectory()) return pattern;
  const m = /^(.*)_(train|val)(_\d{6}\.bin)?$/.exec(pattern);
  if (!m) throw new UserError(`${pattern}: cannot tell the dataset's ${split} shards from this name; give a prefix like runs/data/<name>_train or a directory`);
  return `${m[1]}_${split}`;
}

/** Shard files for a loader pattern (see ShardLoaderOptions.pattern), sorted. */
export function resolveShards(pattern: string, split: Split = 'train'): string[] {
  const stat = fs.statSync(pattern, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return findShards(pattern, split);
  if (stat?.isFile()) return [pattern];
  const dir = path.dirname(pattern);
  const base = path.basename(pattern);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    throw new UserError(`${pattern}: no such shard, prefix or directory (directory ${dir} does not exist); check the path`);
  }
  const found = names.filter((n) => n.startsWith(`${base}_`) && /^_\d{6}\.bin$/.test(n.slice(base.length))).sort();
  if (found.length === 0) {
    throw new UserError(
      `${pattern}: no shards named ${base}_000000.bin, ${base}_000001.bin, … in ${dir}; ` +
        `give a prefix like 'runs/data/sensor_train', a directory of shards, or a .bin file`,
    );
  }
  return found.map((n) => path.join(dir, n));
}

interface OpenShard {
  file: string;
  fd: number;
  tokens: number;
  /** First global window index of this shard. */
  firstWindow: number;
}

export class ShardLoader {
  readonly B: number;
  readonly T: number;
  readonly seed: number;
  readonly shuffle: boolean;
  /** Windows (rows) per epoch: floor((tokens - 1) / T) per shard, summed. */
  readonly windowsPerEpoch: number;
  /** Target tokens seen per epoch: windowsPerEpoch · T. */
  readonly tokensPerEpoch: number;
  readonly files: readonly string[];
  private readonly shards: OpenShard[];
  private readonly batch: Int32Array;
  private readonly row: Uint16Array;
  private epoch = 0;
  private position = 0;
  private perm: Permutation | null = null;

  constructor(opts: ShardLoaderOptions) {
    const { B, T } = opts;
    if (!Number.isInteger(B) || B < 1) throw new UserError(`ShardLoader: batch size B must be a positive integer, got ${B}`);
    if (!Number.isInteger(T) || T < 1) throw new UserError(`ShardLoader: sequence length T must be a positive integer, got ${T}`);
    this.B = B;
    this.T = T;
    this.seed = (opts.seed ?? 1337) >>> 0;
    this.shuffle = opts.shuffle ?? true;
    this.files = resolveShards(opts.pattern, opts.split);
    this.shards = [];
    let windows = 0;
    try {
      for (const file of this.files) {
        const { numTokens } = readShardHeader(file);
        if (opts.vocabSize !== undefined) checkShardIds(file, opts.vocabSize);
        this.shards.push({ file, fd: fs.openSync(file, 'r'), tokens: numTokens, firstWindow: windows });
        windows += Math.max(0, Math.floor((numTokens - 1) / T));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    if (windows === 0) {
      const total = this.shards.reduce((s, x) => s + x.tokens, 0);
      this.close();
      throw new UserError(
        `${opts.pattern}: the shards hold ${total} tokens, too few for one sequence of T+1 = ${T + 1} tokens; ` +
          `use a smaller sequence length or prepare more data`,
      );
    }
    this.windowsPerEpoch = windows;
    this.tokensPerEpoch = windows * T;
    this.batch = new Int32Array(B * (T + 1));
    this.row = new Uint16Array(T + 1);
    this.startEpoch(0);
  }

  /** Next batch, (B, T+1) row-major: inputs are [:, :T], targets [:, 1:]. The same buffer is reused by every call. */
  next(): Int32Array {
    const T1 = this.T + 1;
    for (let b = 0; b < this.B; b++) {
      const w = this.perm ? this.perm.at(this.position) : this.position;
      const shard = this.shardOf(w);
      const start = (w - shard.firstWindow) * this.T;
      readShardTokens(shard.fd, start, T1, this.row);
      this.batch.set(this.row, b * T1);
      if (++this.position === this.windowsPerEpoch) this.startEpoch(this.epoch + 1);
    }
    return this.batch;
  }

  /** Current epoch (0-based) and windows served in it. */
  get progress(): { epoch: number; position: number } {
    return { epoch: this.epoch, position: this.position };
  }

  /** Back to the first batch of epoch 0 (e.g. before each validation pass). */
  reset(): void {
    this.startEpoch(0);
  }

  getState(): LoaderState {
    return {
      version: 1,
      epoch: this.epoch,
      position: this.position,
      seed: this.seed,
      shuffle: this.shuffle,
      T: this.T,
      shards: this.shards.map((s) => ({ file: path.basename(s.file), tokens: s.tokens })),
    };
  }

  /** Restores a position saved by getState(); `where` names its source (e.g. the checkpoint) in errors. */
  setState(state: unknown, where = 'ShardLoader.setState'): void {
    const s = state as LoaderState;
    if (typeof state !== 'object' || state === null || s.version !== 1) throw new UserError(`${where}: unsupported loader state version ${quoteValue(s?.version)}`);
    if (!Array.isArray(s.shards) || !s.shards.every((x) => typeof x === 'object' && x !== null && typeof x.file === 'string' && Number.isSafeInteger(x.tokens))) {
      throw new UserError(`${where}: corrupt loader state (shard list ${quoteValue(s.shards)})`);
    }
    if (s.T !== this.T) throw new UserError(`${where}: the saved position is for sequence length ${quoteValue(s.T)}, this loader uses ${this.T}; resume with the same sequence length`);
    if (s.seed >>> 0 !== this.seed || s.shuffle !== this.shuffle) {
      throw new UserError(`${where}: the saved position is for seed ${quoteValue(s.seed)} shuffle=${quoteValue(s.shuffle)}, this loader has seed ${this.seed} shuffle=${this.shuffle}; resume with the same data seed`);
    }
    const mine = this.getState().shards;
    const same = mine.length === s.shards.length && mine.every((x, i) => x.file === s.shards[i].file && x.tokens === s.shards[i].tokens);
    if (!same) {
      throw new UserError(
        `${where}: the data changed since the position was saved (saved ${s.shards.length} shards, ${s.shards.reduce((a, x) => a + x.tokens, 0)} tokens; ` +
          `now ${mine.length} shards, ${mine.reduce((a, x) => a + x.tokens, 0)} tokens); resume with the same prepared data or start a new run`,
      );
    }
    if (!Number.isInteger(s.position) || s.position < 0 || s.position >= this.windowsPerEpoch || !Number.isInteger(s.epoch) || s.epoch < 0) {
      throw new UserError(`${where}: corrupt loader state (epoch ${quoteValue(s.epoch)}, position ${quoteValue(s.position)} of ${this.windowsPerEpoch})`);
    }
    this.startEpoch(s.epoch);
    this.position = s.position;
  }

  /** Closes the shard files. */
  close(): void {
    for (const s of this.shards) fs.closeSync(s.fd);
    this.shards.length = 0;
  }

  private startEpoch(epoch: number): void {
    this.epoch = epoch;
    this.position = 0;
    this.perm = this.shuffle ? new Permutation(this.windowsPerEpoch, this.seed, epoch) : null;
  }

  private shardOf(w: number): OpenShard {
    let lo = 0;
    let hi = this.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shards[mid].firstWindow <= w) lo = mid;
      else hi = mid - 1;
    }
    return this.shards[lo];
  }
}
