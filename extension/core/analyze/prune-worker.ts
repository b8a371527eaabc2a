/**
 * Method runs on a worker thread (dist/methods-worker.cjs): the VS Code host re-runs staged and greedy
 * methods for new budgets (F³A takes ~0.5 s at 576 tokens) and searches counterfactual budgets without
 * blocking its own thread. The core is pure TypeScript, so the worker needs no native module.
 *
 * One worker, one job at a time, in request order. Each bundle is sent once per worker (a few recent ones
 * stay loaded). Aborting a queued job drops it; aborting the running one terminates the worker (a method
 * run cannot be interrupted otherwise) and the next job starts a fresh one.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Tensor } from '../bundle/tensor.ts';
import type { BundleMeta, RoleMapping, TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { PruneResult } from '../methods/types.ts';
import { CancelledError } from '../runtime/worker/errors.ts';
import type { PruneExecutor } from './pipeline.ts';

export type ToPruneWorker =
  | { type: 'load'; bundle: number; arrays: [string, Tensor][]; meta: BundleMeta }
  | { type: 'drop'; bundle: number }
  | { type: 'run'; job: number; bundle: number; method: string; params: JsonObject; mapping: RoleMapping };

export type FromPruneWorker =
  | { type: 'done'; job: number; result: PruneResult; timeMs: number }
  | { type: 'failed'; job: number; message: string; input: boolean };

/** Bundles kept loaded in the worker (the panels' current ones, typically). */
const MAX_LOADED = 4;

interface Job {
  readonly id: number;
  readonly bundle: TokenBundle;
  readonly method: string;
  readonly params: JsonObject;
  readonly mapping: RoleMapping;
  readonly signal?: AbortSignal;
  resolve(v: { result: PruneResult; timeMs: number }): void;
  reject(err: unknown): void;
  onAbort?: () => void;
}

/** dist/methods-worker.cjs beside a bundled host or CLI; null when running from source (use the in-thread executor). */
export function defaultPruneWorkerEntry(): string | null {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith('.cjs')) return null;
  const entry = join(dirname(here), 'methods-worker.cjs');
  return existsSync(entry) ? entry : null;
}

export class PruneWorker {
  private worker: Worker | null = null;
  private readonly ids = new WeakMap<TokenBundle, number>();
  /** Bundle ids loaded in the current worker, least recently used first. */
  private loaded: number[] = [];
  private readonly queue: Job[] = [];
  private running: Job | null = null;
  private nextBundle = 1;
  private nextJob = 1;
  private disposed = false;
  /** Workers started so far (tests check that an abort restarts it). */
  starts = 0;

  constructor(
    private readonly entry: string,
    private readonly onLog: (line: string) => void = () => {},
  ) {}

  /** The executor for rerunMethodWith. */
  readonly execute: PruneExecutor = (bundle, method, params, mapping, signal) =>
    new Promise((resolve, reject) => {
      if (this.disposed) return reject(new Error('the methods worker was disposed'));
      if (signal?.aborted) return reject(new CancelledError(method));
      const job: Job = { id: this.nextJob++, bundle, method, params, mapping, signal, resolve, reject };
      if (signal) {
        job.onAbort = () => this.abort(job);
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });

  /** Stops the worker; queued and running jobs are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const pending = [...this.queue, ...(this.running ? [this.running] : [])];
    this.queue.length = 0;
    this.running = null;
    for (const j of pending) this.settle(j, () => j.reject(new CancelledError(j.method)));
    const w = this.worker;
    this.worker = null;
    await w?.terminate();
  }

  private settle(job: Job, report: () => void): void {
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    report();
  }

  private abort(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.settle(job, () => job.reject(new CancelledError(job.method)));
      return;
    }
    if (this.running !== job) return;
    // A method run cannot be interrupted: stop the thread; the next job starts a fresh one.
    this.onLog(`methods worker: ${job.method} cancelled while running; restarting the worker`);
    this.running = null;
    this.stopWorker();
    this.settle(job, () => job.reject(new CancelledError(job.method)));
    this.pump();
  }

  private stopWorker(): void {
    const w = this.worker;
    this.worker = null;
    this.loaded = [];
    if (w) {
      w.removeAllListeners();
      // Errors from a worker being terminated are of no interest.
      w.on('error', () => {});
      void w.terminate();
    }
  }

  private start(): Worker {
    const w = new Worker(this.entry, { name: 'prunelens-methods' });
    this.starts++;
    w.on('message', (m: FromPruneWorker) => this.onMessage(w, m));
    w.on('error', (err) => this.onCrash(w, err));
    w.on('exit', (code) => this.onCrash(w, new Error(`methods worker exited with code ${code}`)));
    this.worker = w;
    this.loaded = [];
    return w;
  }

  private onCrash(w: Worker, err: Error): void {
    if (this.worker !== w) return;
    this.onLog(`methods worker stopped: ${err.message}`);
    this.worker = null;
    this.loaded = [];
    const job = this.running;
    this.running = null;
    if (job) this.settle(job, () => job.reject(err));
    this.pump();
  }

  private onMessage(w: Worker, m: FromPruneWorker): void {
    const job = this.running;
    if (this.worker !== w || !job || m.job !== job.id) return;
    this.running = null;
    if (m.type === 'done') this.settle(job, () => job.resolve({ result: m.result, timeMs: m.timeMs }));
    else this.settle(job, () => job.reject(m.input ? new InputError(m.message) : new Error(m.message)));
    this.pump();
  }

  private bundleId(b: TokenBundle): number {
    let id = this.ids.get(b);
    if (id === undefined) {
      id = this.nextBundle++;
      this.ids.set(b, id);
    }
    return id;
  }

  private ensureLoaded(w: Worker, b: TokenBundle): number {
    const id = this.bundleId(b);
    const at = this.loaded.indexOf(id);
    if (at >= 0) {
      this.loaded.splice(at, 1);
      this.loaded.push(id);
      return id;
    }
    const load: ToPruneWorker = { type: 'load', bundle: id, arrays: [...b.arrays.entries()], meta: b.meta };
    w.postMessage(load);
    this.loaded.push(id);
    while (this.loaded.length > MAX_LOADED) {
      const old = this.loaded.shift() as number;
      w.postMessage({ type: 'drop', bundle: old } satisfies ToPruneWorker);
    }
    return id;
  }

  private pump(): void {
    if (this.running || this.disposed) {
      this.idle();
      return;
    }
    const job = this.queue.shift();
    if (!job) {
      this.idle();
      return;
    }
    const w = this.worker ?? this.start();
    // Keep the process alive only while there is work (an idle worker must not hold up exit).
    w.ref();
    this.running = job;
    try {
      const bundle = this.ensureLoaded(w, job.bundle);
      w.postMessage({ type: 'run', job: job.id, bundle, method: job.method, params: job.params, mapping: job.mapping } satisfies ToPruneWorker);
    } catch (err) {
      // e.g. a value that cannot be cloned: this job fails, the next may not.
      this.running = null;
      this.settle(job, () => job.reject(err));
      this.pump();
    }
  }

  private idle(): void {
    if (!this.running && this.queue.length === 0) this.worker?.unref();
  }
}
