// The server's bounded request queue: one model and one decoder, so jobs run one at a time in arrival order; at
// most `limit` wait behind the running one, and a job arriving at a full queue is refused at once (503) instead of
// piling up. drain() refuses the waiting jobs (shutdown) and resolves when the running one has finished.
import { ApiError } from './errors.js';

type Task = () => Promise<void>;

interface Waiting {
  task: Task;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export class JobQueue {
  private readonly waiting: Waiting[] = [];
  private active: Promise<void> | null = null;
  private closedReason: string | null = null;

  constructor(readonly limit: number) {}

  get running(): number {
    return this.active ? 1 : 0;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs task when its turn comes; rejects with a 503 ApiError when the queue is full or closed. */
  run(task: Task): Promise<void> {
    if (this.closedReason) return Promise.reject(new ApiError(503, this.closedReason));
    if (this.active && this.waiting.length >= this.limit) {
      return Promise.reject(new ApiError(503, `the server is busy: ${this.waiting.length} requests are waiting (--queue ${this.limit}); retry later`, null, 'queue_full'));
    }
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ task, resolve, reject });
      if (!this.active) this.next();
    });
  }

  private next(): void {
    const job = this.waiting.shift();
    if (!job) {
      this.active = null;
      return;
    }
    this.active = (async () => {
      try {
        await job.task();
        job.resolve();
      } catch (e) {
        job.reject(e);
      }
    })().then(() => this.next());
  }

  /** Refuses new and waiting jobs with `reason` (503); resolves when no job runs any more. */
  async drain(reason: string): Promise<void> {
    this.closedReason = reason;
    for (const job of this.waiting.splice(0)) job.reject(new ApiError(503, reason));
    while (this.active) await this.active;
  }
}
