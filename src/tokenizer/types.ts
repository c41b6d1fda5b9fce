// The tokenizer interface every part of TinyLLM codes against (data preparation, generation,
// exports), and BpeModel, the plain data a byte-level BPE tokenizer is built from and saved as.

export interface EncodeOptions {
  /** Encode special tokens such as <|endoftext|> found in the text as their ids (default: as plain text). */
  allowSpecial?: boolean;
}

export interface StreamDecoder {
  /** Text completed by this token; bytes of an unfinished UTF-8 character are held back. */
  push(id: number): string;
  /** Whatever is still held back (U+FFFD for an unfinished character); the decoder can then be reused. */
  flush(): string;
}

export interface Tokenizer {
  /** Number of token ids (50257 for GPT-2). */
  readonly vocabSize: number;
  /** Id of <|endoftext|>, which precedes every document (50256 for GPT-2). */
  readonly eotToken: number;
  /** Token ids of `text`. <|endoftext|> in the text is ordinary text unless allowSpecial is set. */
  encode(text: string, opts?: EncodeOptions): number[];
  /** Text of the ids; invalid UTF-8 becomes U+FFFD as with Python's errors='replace'. */
  decode(ids: ArrayLike<number>): string;
  /** Raw bytes of the ids. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  /** A decoder for token-by-token generation: concatenated outputs equal decode(all ids). */
  createStreamDecoder(): StreamDecoder;
}

/** A byte-level BPE vocabulary as plain data. */
export interface BpeModel {
  /** Bytes of every token, index = id. Special tokens hold the UTF-8 of their text. */
  tokens: Uint8Array[];
  /** Merges in rank order: [left id, right id, merged id]. */
  merges: Array<[number, number, number]>;
  /** Special tokens (never produced by merges): text -> id. Must include <|endoftext|>. */
  special: Map<string, number>;
}

export const EOT_TEXT = '<|endoftext|>';
