// Number-aware initialisation of the token embedding, for models trained from scratch on sensor logs: the rows of
// number tokens (" 139", "42", " 7") start placed by their value, so nearby readings start out similar and a
// reading's magnitude is readable from the first step instead of being learned token by token. Only the initial
// values of wte change (same architecture, same files, nothing for a model loaded from weights). Features: sin/cos
// of the value at geometric scales (as a transformer's sinusoidal positions), log-magnitude, digit count and leading
// space, through a fixed seeded random projection to the width C, mixed with the row's own N(0, std) init.
import { Rng } from '../../util/rng.js';
import { INIT_STD, type GPT2 } from './model.js';
import type { TextCodec } from './textgen.js';

/** A token that is an optional leading space and 1–4 digits, with its value. */
export interface NumberToken {
  id: number;
  value: number;
  digits: number;
  space: boolean;
}

/** The number tokens of a vocabulary, given each id's text. */
export function numberTokens(vocabSize: number, text: (id: number) => string): NumberToken[] {
  const out: NumberToken[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const m = /^( ?)(\d{1,4})$/.exec(text(id));
    if (m) out.push({ id, value: Number(m[2]), digits: m[2].length, space: m[1] === ' ' });
  }
  return out;
}

/** Periods (in value units) of the sin/cos features: 0.5 to 4096, so 0..9999 map without aliasing at the top. */
const SCALES = Array.from({ length: 14 }, (_, i) => 2 ** (i - 1));
const FEATURES = 2 * SCALES.length + 1 + 4 + 1;

/** Feature vector of one number token (FEATURES values, each in [-1, 1]). */
function features(t: NumberToken, out: Float64Array): void {
  let j = 0;
  for (const s of SCALES) {
    out[j++] = Math.sin(t.value / s);
    out[j++] = Math.cos(t.value / s);
  }
  out[j++] = (2 * Math.log1p(t.value)) / Math.log(10000) - 1;
  for (let d = 1; d <= 4; d++) out[j++] = t.digits === d ? 1 : -1;
  out[j++] = t.space ? 1 : -1;
}

/** Share of a number token's initial embedding that comes from its value (the rest is its own random init). */
export const NUMBER_INIT_MIX = 0.8;

/**
 * Overwrites the number tokens' rows of wte (V, C): mix·u + (1 − mix)·(the row's current random init), u the fixed
 * random projection (seeded) of the token's features scaled to the norm std·√C of an N(0, std) row. Other rows are
 * left as they are.
 */
export function initNumberEmbeddings(wte: Float32Array, C: number, tokens: readonly NumberToken[], std: number, seed: number, mix = NUMBER_INIT_MIX): void {
  const rng = new Rng(seed);
  const P = Float64Array.from({ length: C * FEATURES }, () => rng.normal(0, 1)); // (C, FEATURES)
  const phi = new Float64Array(FEATURES);
  const u = new Float64Array(C);
  for (const t of tokens) {
    features(t, phi);
    let norm = 0;
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let j = 0; j < FEATURES; j++) s += P[c * FEATURES + j] * phi[j];
      u[c] = s;
      norm += s * s;
    }
    const k = (mix * std * Math.sqrt(C)) / Math.sqrt(norm || 1);
    const row = wte.subarray(t.id * C, (t.id + 1) * C);
    for (let c = 0; c < C; c++) row[c] = k * u[c] + (1 - mix) * row[c];
  }
}

/** The number init on a model's wte, the tokens found by decoding each id with `codec`; returns how many there are. */
export function applyNumberInit(model: GPT2, codec: TextCodec & { vocabSize: number }, seed: number): number {
  const numbers = numberTokens(codec.vocabSize, (id) => {
    const d = codec.createStreamDecoder();
    return d.push(id) + d.flush();
  });
  initNumberEmbeddings(model.params.get('wte.weight') as Float32Array, model.config.nEmbd, numbers, INIT_STD, seed);
  return numbers.length;
}
