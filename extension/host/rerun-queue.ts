/**
 * Budget re-runs requested by a panel: debounced per method, run one at a time, and superseded by newer
 * requests for the same method (the superseded one is answered `requestCancelled`, never left hanging).
 * Pure (timers injected) so the ordering rules are unit-tested.
 */
export interface RerunJob {
  readonly requestId: number;
  readonly method: string;
  readonly budget: number;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export interface RerunHandlers<R> {
  run(job: RerunJob, signal: AbortSignal): Promise<R>;
  done(job: RerunJob, result: R): void;
  failed(job: RerunJob, err: unknown): void;
  cancelled(job: RerunJob): void;
}

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class RerunQueue<R> {
  private readonly waiting = new Map<string, { job: RerunJob; handle: unknown }>();
  private readonly ready: RerunJob[] = [];
  private running: { job: RerunJob; ac: AbortController } | null = null;
  private disposed = false;

  constructor(
    private readonly h: RerunHandlers<R>,
    private readonly debounceMs = 120,
    private readonly timers: Timers = realTimers,
  ) {}

  request(job: RerunJob): void {
    if (this.disposed) return;
    this.supersede(job.method);
    const handle = this.timers.set(() => {
      this.waiting.delete(job.method);
      this.ready.push(job);
      this.pump();
    }, this.debounceMs);
    this.waiting.set(job.method, { job, handle });
  }

  /** Cancels a request by id wherever it is; a running one is answered when its run returns. */
  cancel(requestId: number): void {
    for (const [method, w] of this.waiting) {
      if (w.job.requestId !== requestId) continue;
      this.timers.clear(w.handle);
      this.waiting.delete(method);
      this.h.cancelled(w.job);
      return;
    }
    const i = this.ready.findIndex((j) => j.requestId === requestId);
    if (i >= 0) {
      this.h.cancelled(this.ready.splice(i, 1)[0]);
      return;
    }
    if (this.running?.job.requestId === requestId) this.running.ac.abort();
  }

  /** True while anything is waiting, queued or running. */
  get busy(): boolean {
    return this.waiting.size > 0 || this.ready.length > 0 || this.running !== null;
  }

  dispose(): void {
    this.disposed = true;
    for (const w of this.waiting.values()) this.timers.clear(w.handle);
    this.waiting.clear();
    this.ready.length = 0;
    this.running?.ac.abort();
  }

  private supersede(method: string): void {
    const w = this.waiting.get(method);
    if (w) {
      this.timers.clear(w.handle);
      this.waiting.delete(method);
      this.h.cancelled(w.job);
    }
    for (let i = this.ready.length - 1; i >= 0; i--) {
      if (this.ready[i].method === method) this.h.cancelled(this.ready.splice(i, 1)[0]);
    }
    if (this.running?.job.method === method) this.running.ac.abort();
  }

  private pump(): void {
    if (this.running || this.disposed) return;
    const job = this.ready.shift();
    if (!job) return;
    const ac = new AbortController();
    this.running = { job, ac };
    const finish = (report: () => void): void => {
      this.running = null;
      if (!this.disposed) report();
      this.pump();
    };
    this.h.run(job, ac.signal).then(
      (r) => finish(() => (ac.signal.aborted ? this.h.cancelled(job) : this.h.done(job, r))),
      (err: unknown) => finish(() => (ac.signal.aborted ? this.h.cancelled(job) : this.h.failed(job, err))),
    );
  }
}
