/**
 * Method runs in a child process (dist/methods-worker.cjs, forked): the VS Code host re-runs staged and
 * greedy methods for new budgets (F³A takes ~0.5 s at 576 tokens) and searches counterfactual budgets
 * without blocking its own thread. A process rather than a worker thread: it may load onnxruntime (a
 * worker thread that did cannot be terminated without aborting the host), so it runs the same kernels as
 * the host's thread and the CLI, and every context computes the same bits and shows the same decisions.
 *
 * One process, one job at a time, in request order. Each bundle is sent once per process (a few recent ones
 * stay loaded). Aborting a queued job drops it; aborting the running one kills the process (a method run
 * cannot be interrupted otherwise) and the next job starts a fresh one. While idle it does not keep the
 * parent alive.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Tensor } from '../bundle/tensor.ts';
import type { BundleMeta, RoleMapping, TokenBundle } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { PruneResult } from '../methods/types.ts';
import { kernelSettings, type KernelBackend, type KernelPrecision } from '../numeric/gemm.ts';
import { kernelThreads } from '../numeric/ort-gemm.ts';
import { CancelledError } from '../runtime/worker/errors.ts';
import { launchFor } from '../runtime/worker/launch.ts';
import { onOutputLines } from '../runtime/worker/output-lines.ts';
import type { PruneExecutor } from './pipeline.ts';

/** The kernel choice of the parent at the time of a run (configureKernels may have changed it since the fork). */
export interface RunKernels {
  backend: KernelBackend;
  precision: KernelPrecision;
}

export type ToPruneWorker =
  | { type: 'load'; bundle: number; arrays: [string, Tensor][]; meta: BundleMeta }
  | { type: 'drop'; bundle: number }
  | { type: 'run'; job: number; bundle: number; method: string; params: JsonObject; mapping: RoleMapping; kernels: RunKernels };

export type FromPruneWorker =
  | { type: 'ready'; pid: number }
  | { type: 'done'; job: number; result: PruneResult; timeMs: number }
  | { type: 'failed'; job: number; message: string; input: boolean };

/** Bundles kept loaded in the process (the panels' current ones, typically). */
const MAX_LOADED = 4;
/** Lines of the process's output kept for a crash message. */
const TAIL_LINES = 5;

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

/**
 * The child's environment: the parent's, with the kernel settings this process runs under made explicit
 * (backend, precision, onnxruntime threads), so the child's GEMMs are the parent's GEMMs.
 */
export function pruneWorkerEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const k = kernelSettings();
  const env: NodeJS.ProcessEnv = { ...base, PRUNELENS_KERNELS: k.backend, PRUNELENS_PRECISION: k.precision, PRUNELENS_THREADS: String(kernelThreads()) };
  // Under Electron (the VS Code extension host) process.execPath is the editor: run it as plain Node.
  if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
  return env;
}

export class PruneWorker {
  private proc: ChildProcess | null = null;
  /** The current process has said it is listening. */
  private ready = false;
  private readonly ids = new WeakMap<TokenBundle, number>();
  /** Bundle ids loaded in the current process, least recently used first. */
  private loaded: number[] = [];
  private readonly queue: Job[] = [];
  private running: Job | null = null;
  private nextBundle = 1;
  private nextJob = 1;
  private disposed = false;
  private tail: string[] = [];
  /** Processes started so far (tests check that an abort restarts it). */
  starts = 0;

  constructor(
    private readonly entry: string,
    private readonly onLog: (line: string) => void = () => {},
  ) {}

  /** The current process's pid, if one is running. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

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

  /** Kills the process; queued and running jobs are rejected. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const pending = [...this.queue, ...(this.running ? [this.running] : [])];
    this.queue.length = 0;
    this.running = null;
    for (const j of pending) this.settle(j, () => j.reject(new CancelledError(j.method)));
    const p = this.proc;
    if (!p) return;
    const gone = p.exitCode !== null || p.signalCode !== null ? Promise.resolve() : new Promise<void>((res) => p.once('exit', () => res()));
    // An idle process is unref'd; hold the loop until it is really gone.
    setRef(p, true);
    this.stopProcess();
    await gone;
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
      this.idle();
      return;
    }
    if (this.running !== job) return;
    // A method run cannot be interrupted: kill the process; the next job starts a fresh one.
    this.onLog(`methods worker: ${job.method} cancelled while running; restarting the worker process`);
    this.running = null;
    this.stopProcess();
    this.settle(job, () => job.reject(new CancelledError(job.method)));
    this.pump();
  }

  private stopProcess(): void {
    const p = this.proc;
    this.proc = null;
    this.ready = false;
    this.loaded = [];
    if (p) {
      p.removeAllListeners('message');
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    }
  }

  private start(): ChildProcess {
    const { entry, execArgv } = launchFor(this.entry);
    const p = fork(entry, [], { execArgv, env: pruneWorkerEnv(), serialization: 'advanced', stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    this.starts++;
    this.proc = p;
    this.ready = false;
    this.loaded = [];
    this.tail = [];
    this.collect(p);
    p.on('message', (m: FromPruneWorker) => this.onMessage(p, m));
    p.on('error', (err) => this.onGone(p, `could not run it: ${err.message}`));
    // 'close' comes after the last output, so a crash message can quote it.
    p.on('close', (code, signal) => this.onGone(p, signal ? `signal ${signal}` : `exit code ${code}`));
    return p;
  }

  /** The process ended (crash, exit, or a failed start): fail the job it was running; the next job restarts. */
  private onGone(p: ChildProcess, how: string): void {
    if (this.proc !== p) return;
    const tail = this.tail.slice(-3).join(' | ').slice(-600);
    const err = new Error(`methods worker process stopped (${how})${tail ? `; last output: ${tail}` : ''}`);
    this.onLog(err.message);
    this.proc = null;
    this.ready = false;
    this.loaded = [];
    const job = this.running;
    this.running = null;
    if (job) this.settle(job, () => job.reject(err));
    this.pump();
  }

  private onMessage(p: ChildProcess, m: FromPruneWorker): void {
    if (this.proc !== p) return;
    if (m.type === 'ready') {
      this.ready = true;
      this.onLog(`methods worker: process ${m.pid} started`);
      if (this.running) this.dispatch(p, this.running);
      return;
    }
    const job = this.running;
    if (!job || m.job !== job.id) return;
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

  private ensureLoaded(p: ChildProcess, b: TokenBundle): number {
    const id = this.bundleId(b);
    const at = this.loaded.indexOf(id);
    if (at >= 0) {
      this.loaded.splice(at, 1);
      this.loaded.push(id);
      return id;
    }
    send(p, { type: 'load', bundle: id, arrays: [...b.arrays.entries()], meta: b.meta });
    this.loaded.push(id);
    while (this.loaded.length > MAX_LOADED) {
      const old = this.loaded.shift() as number;
      send(p, { type: 'drop', bundle: old });
    }
    return id;
  }

  /** Sends the running job to a ready process. */
  private dispatch(p: ChildProcess, job: Job): void {
    try {
      const bundle = this.ensureLoaded(p, job.bundle);
      send(p, { type: 'run', job: job.id, bundle, method: job.method, params: job.params, mapping: job.mapping, kernels: kernelSettings() });
    } catch (err) {
      // e.g. a value that cannot be serialised: this job fails, the next may not.
      this.running = null;
      this.settle(job, () => job.reject(err));
      this.pump();
    }
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
    const p = this.proc ?? this.start();
    // Keep the parent alive only while there is work (an idle process must not hold up its exit).
    setRef(p, true);
    this.running = job;
    // A process still starting gets the job once it says it is ready (onMessage).
    if (this.ready) this.dispatch(p, job);
  }

  private idle(): void {
    if (!this.running && this.queue.length === 0 && this.proc) setRef(this.proc, false);
  }

  private collect(p: ChildProcess): void {
    onOutputLines(p, (line) => this.addLine(p, line));
  }

  private addLine(p: ChildProcess, raw: string): void {
    // onnxruntime colours its log lines; keep the text.
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
    if (!line) return;
    if (this.proc === p) {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
    }
    this.onLog(`methods worker: ${line}`);
  }
}

/** Throws at once when the message cannot be serialised; a process that is gone reports through 'exit'. */
function send(p: ChildProcess, m: ToPruneWorker): void {
  p.send(m, undefined, {}, () => {});
}

/** The process, its IPC channel and its pipes all hold the parent's event loop: (un)ref every one. */
function setRef(p: ChildProcess, on: boolean): void {
  const handles: ({ ref?(): void; unref?(): void } | null | undefined)[] = [p, p.channel, p.stdout as unknown as { ref?(): void; unref?(): void } | null, p.stderr as unknown as { ref?(): void; unref?(): void } | null];
  for (const h of handles) {
    if (on) h?.ref?.();
    else h?.unref?.();
  }
}
