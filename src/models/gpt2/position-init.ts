// Sinusoidal initialisation of the learned position embedding, for models trained from scratch: row t of wpe (T, C)
// starts as the original Transformer's fixed encoding (Vaswani et al. 2017, §3.5: sin and cos of t at wavelengths
// 2π … 2π·10000), scaled to the norm of an N(0, std) row, plus a share of the row's own random init. A shift by k
// positions is then the same rotation for every row, so "attend to the reading k steps back" is one linear map from
// step 1 instead of something learned position by position. Only initial values change (same architecture and files).
import { INIT_STD, type GPT2 } from './model.js';

/** Share of each row's random init that is kept beside the sinusoid. */
export const POSITION_INIT_KEEP = 0.2;

/**
 * Overwrites wpe (T, C) with a·[sin(t/ω_i), cos(t/ω_i)]_i + keep·(its current values), ω_i = 10000^(2i/C) for the
 * pairs i < C/2 (an odd C leaves its last column as it is), a = std·√2 so that a row's sinusoid has the norm std·√C of
 * an N(0, std) row.
 */
export function initSinusoidalPositions(wpe: Float32Array, C: number, std: number, keep = POSITION_INIT_KEEP): void {
  const T = wpe.length / C;
  const a = std * Math.SQRT2;
  for (let t = 0; t < T; t++) {
    for (let i = 0; 2 * i + 1 < C; i++) {
      const angle = t / 10000 ** ((2 * i) / C);
      const j = t * C + 2 * i;
      wpe[j] = a * Math.sin(angle) + keep * wpe[j];
      wpe[j + 1] = a * Math.cos(angle) + keep * wpe[j + 1];
    }
  }
}

/** The sinusoidal init on a model's position embedding (GPT-2's init std). */
export function applyPositionInit(model: GPT2): void {
  initSinusoidalPositions(model.params.get('wpe.weight') as Float32Array, model.config.nEmbd, INIT_STD);
}
