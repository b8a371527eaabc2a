import { fork, type ChildProcess } from 'node:child_process';
import { CancelledError, WorkerCrashedError, WorkerTimeoutError, deserializeError } from './errors.ts';
import type { RuntimeKinds } from './kinds.ts';
import { defaultWorkerLaunch, type WorkerLaunch } from './launch.ts';
import { onOutputLines } from './output-lines.ts';
import { isWorkerMessage, type KindSpec, type ReplyMessage, type RequestMessage } from './protocol.ts';

export interface RequestOptions {
  /** Aborting cancels the request; if it is already running, the worker is killed (restarted on the next request). */
  signal?: AbortSignal;
  /** Time limit once the worker has the request (ms); 0 = none. Overrides the client's default. */
  timeoutMs?: number;
}

export interface WorkerClientOptions {
  launch?: WorkerLaunch;
  /** Environment of the worker process (default: this process's). */
  env?: NodeJS.ProcessEnv;
  /** Default per-request time limit (ms); 0 = none. */
  timeoutMs?: number;
  /** Time allowed for a worker to start and report ready (ms). */
  startTimeoutMs?: number;
  /** Each line the worker writes to stdout/stderr (onnxruntime logs there). */
  onLog?: (line: string) => void;
}

interface Pending {
  id: number;
  kind: string;
  payload: unknown;
  timeoutMs: number;
  signal?: AbortSignal;
  onAbort?: () => void;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  settled: boolean;
  /** The process the request was sent to (set once sent). */
  sentTo?: ChildProcess;
  timer?: NodeJS.Timeout;
}

const TAIL_LINES = 20;

/**
 * Host side of the runtime worker: a child process answering typed requests one at a time.
 * The process starts on the first request, is killed on cancel/timeout, and a dead or killed
 * worker is started again by the next request. While idle it does not keep Node alive.
 */
export class WorkerClient<K extends { [N in keyof K]: KindSpec } = RuntimeKinds> {
  private readonly launch: WorkerLaunch;
  private proc: ChildProcess | null = null;
  private ready: Promise<ChildProcess> | null = null;
  private readonly queue: Pending[] = [];
  private active: Pending | null = null;
  private nextId = 1;
  private tail: string[] = [];
  private disposed = false;
  /** Worker processes started so far (each restart adds one). */
  starts = 0;

  constructor(private readonly opts: WorkerClientOptions = {}) {
    this.launch = opts.launch ?? defaultWorkerLaunch();
  }

  /** The current worker's pid, if one is running. */
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  request<N extends keyof K & string>(kind: N, payload: K[N]['payload'], opts: RequestOptions = {}): Promise<K[N]['result']> {
    return new Promise<K[N]['result']>((resolve, reject) => {
      if (this.disposed) return reject(new Error('the runtime worker client was disposed'));
      if (opts.signal?.aborted) return reject(new CancelledError(kind));
      const p: Pending = {
        id: this.nextId++,
        kind,
        payload,
        timeoutMs: opts.timeoutMs ?? this.opts.timeoutMs ?? 0,
        signal: opts.signal,
        resolve: resolve as (v: unknown) => void,
        reject,
        settled: false,
      };
      if (opts.signal) {
        const onAbort = (): void => this.cancel(p);
        p.onAbort = onAbort;
        opts.signal.addEventListener('abort', onAbort, { once: true });
      }
      this.queue.push(p);
      this.pump();
    });
  }

  /** Stops the worker and rejects everything pending. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const err = new Error('the runtime worker client was disposed');
    for (const p of this.queue.splice(0)) this.settle(p, () => p.reject(err));
    if (this.active) {
      const p = this.active;
      this.settle(p, () => p.reject(err));
    }
    const proc = this.proc;
    if (!proc) return;
    const closed = new Promise<void>((res) => proc.once('close', () => res()));
    // An idle worker is unref'd; hold the loop until it is really gone.
    this.setRef(true);
    this.killWorker();
    if (proc.exitCode === null && proc.signalCode === null) await closed;
  }

  private pump(): void {
    if (this.active || this.disposed) return;
    const p = this.queue.shift();
    if (!p) {
      this.setRef(false);
      return;
    }
    this.active = p;
    this.ensureStarted().then(
      (proc) => {
        if (p.settled) return;
        p.sentTo = proc;
        this.setRef(true);
        if (p.timeoutMs > 0) p.timer = setTimeout(() => this.onTimeout(p), p.timeoutMs);
        const msg: RequestMessage = { type: 'request', id: p.id, kind: p.kind, payload: p.payload };
        try {
          proc.send(msg, (err) => {
            if (err) this.settle(p, () => p.reject(new Error(`could not send ${p.kind} to the runtime worker: ${err.message}`)));
          });
        } catch (err) {
          this.settle(p, () => p.reject(err instanceof Error ? err : new Error(String(err))));
        }
      },
      (err: Error) => this.settle(p, () => p.reject(err)),
    );
  }

  private settle(p: Pending, finish: () => void): void {
    if (p.settled) return;
    p.settled = true;
    if (p.timer) clearTimeout(p.timer);
    if (p.signal && p.onAbort) p.signal.removeEventListener('abort', p.onAbort);
    const wasActive = this.active === p;
    if (wasActive) this.active = null;
    finish();
    if (wasActive) this.pump();
  }

  private cancel(p: Pending): void {
    if (p.settled) return;
    const queued = this.queue.indexOf(p);
    if (queued >= 0) this.queue.splice(queued, 1);
    // Native code cannot be interrupted: a running request costs the worker.
    else if (this.active === p && p.sentTo) this.killWorker();
    this.settle(p, () => p.reject(new CancelledError(p.kind)));
  }

  private onTimeout(p: Pending): void {
    if (p.settled) return;
    this.killWorker();
    this.settle(p, () => p.reject(new WorkerTimeoutError(p.kind, p.timeoutMs)));
  }

  private killWorker(): void {
    const proc = this.proc;
    this.proc = null;
    this.ready = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }

  private ensureStarted(): Promise<ChildProcess> {
    if (this.ready) return this.ready;
    const { entry, execArgv } = this.launch;
    const proc = fork(entry, [], {
      execArgv,
      env: this.opts.env ?? process.env,
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.proc = proc;
    this.starts++;
    this.tail = [];
    this.collect(proc);
    const startMs = this.opts.startTimeoutMs ?? 30_000;
    const ready = new Promise<ChildProcess>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (this.proc === proc) this.killWorker();
        reject(new Error(`the runtime worker did not start within ${startMs} ms (${entry})`));
      }, startMs);
      proc.on('message', (m: unknown) => {
        if (!isWorkerMessage(m)) return;
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve(proc);
        } else this.onReply(proc, m);
      });
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`could not start the runtime worker (${entry}): ${err.message}`));
        this.onGone(proc, null, null);
      });
      proc.once('close', (code, signal) => {
        clearTimeout(timer);
        reject(new WorkerCrashedError('start', code, signal, this.tailText()));
        this.onGone(proc, code, signal);
      });
    });
    ready.catch(() => undefined);
    this.ready = ready;
    return ready;
  }

  private onReply(proc: ChildProcess, m: ReplyMessage): void {
    const p = this.active;
    if (!p || p.id !== m.id || p.sentTo !== proc) return;
    if (m.ok) this.settle(p, () => p.resolve(m.result));
    else this.settle(p, () => p.reject(deserializeError(m.error)));
  }

  /** A worker process ended (crash, exit, or our kill): fail what it was running; the next request restarts. */
  private onGone(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.proc === proc) {
      this.proc = null;
      this.ready = null;
    }
    const p = this.active;
    if (p && p.sentTo === proc) this.settle(p, () => p.reject(new WorkerCrashedError(p.kind, code, signal, this.tailText())));
  }

  private collect(proc: ChildProcess): void {
    onOutputLines(proc, (line) => this.addLine(line));
  }

  private addLine(raw: string): void {
    // onnxruntime colours its log lines; keep the text.
    const line = raw.replace(/\x1b\[[0-9;]*m/g, '').trimEnd();
    if (!line) return;
    this.tail.push(line);
    if (this.tail.length > TAIL_LINES) this.tail.shift();
    this.opts.onLog?.(line);
  }

  private tailText(): string {
    return this.tail.slice(-3).join(' | ').slice(-600);
  }

  /** Idle workers must not keep the CLI (or a test) alive. */
  private setRef(on: boolean): void {
    const proc = this.proc;
    if (!proc) return;
    const handles: ({ ref(): void; unref(): void } | null | undefined)[] = [
      proc,
      proc.channel,
      proc.stdout as unknown as { ref(): void; unref(): void } | null,
      proc.stderr as unknown as { ref(): void; unref(): void } | null,
    ];
    for (const h of handles) {
      if (on) h?.ref?.();
      else h?.unref?.();
    }
  }
}
