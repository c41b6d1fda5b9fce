// OpProfiler: a lap timer for per-op time breakdowns of a training step (encoder, layernorm, each matmul
// forward/backward, attention, ...). Code calls start() once, then lap('label') after each op; the time
// since the previous lap is added to that label. Off (null) by default, so the hot path pays one check.

export class OpProfiler {
  /** Milliseconds per label, summed over all laps since the last reset(). */
  readonly ms = new Map<string, number>();
  private t = 0;

  start(): void {
    this.t = performance.now();
  }

  lap(label: string): void {
    const now = performance.now();
    this.ms.set(label, (this.ms.get(label) ?? 0) + (now - this.t));
    this.t = now;
  }

  reset(): void {
    this.ms.clear();
  }

  /** Labels with their summed milliseconds, largest first. */
  entries(): [string, number][] {
    return [...this.ms.entries()].sort((a, b) => b[1] - a[1]);
  }
}
