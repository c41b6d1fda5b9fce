// The tokenizer area: GPT-2 byte-level BPE (encode, decode, streaming decode), Hugging Face files,
// and a BPE trainer for users' own data.
export type { Tokenizer, StreamDecoder, EncodeOptions, BpeModel } from './types.js';
export { EOT_TEXT } from './types.js';
export { BpeTokenizer, type BpeOptions } from './bpe.js';
export { gpt2, GPT2_DIR, resolveTokenizer, tokenizerSpec, exportTokenizer } from './gpt2.js';
export { loadTokenizer, loadVocabMerges, loadTokenizerJson, parseTokenizerJson, saveTokenizer, tokenizerJsonText, tokenStrings, tokenizerFromStrings } from './files.js';
export { GPT2_PATTERN, splitPieces } from './pretokenize.js';
export { BYTE_ORDER, BYTE_TO_CHAR, bytesToToken, tokenToBytes } from './bytes.js';
export { trainBpe, PieceCounter, countPiecesInFiles, tokensOfPieces, type BpeTrainOptions } from './train.js';
