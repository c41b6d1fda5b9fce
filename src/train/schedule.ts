// Learning-rate schedule of llm.c / nanoGPT: linear warmup to the peak over `warmup` steps, then cosine
// decay to finalLrFrac·peak at the last step. Steps count from 0.

export interface LrSchedule {
  lr: number;
  warmup: number;
  steps: number;
  finalLrFrac: number;
}

export function lrAt(step: number, s: LrSchedule): number {
  if (step < s.warmup) return (s.lr * (step + 1)) / s.warmup;
  const minLr = s.lr * s.finalLrFrac;
  const span = Math.max(1, s.steps - s.warmup);
  const ratio = Math.min(1, (step - s.warmup) / span);
  return minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (s.lr - minLr);
}
