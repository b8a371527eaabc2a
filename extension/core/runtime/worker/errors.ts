import { InputError } from '../../errors.ts';
import type { SerializedError } from './protocol.ts';

/** The caller aborted the request (AbortSignal). The worker was killed if the request was running. */
export class CancelledError extends Error {
  override readonly name = 'CancelledError';
  constructor(kind: string) {
    super(`cancelled (${kind})`);
  }
}

/** The request ran past its time limit; the worker was killed and will restart on the next request. */
export class WorkerTimeoutError extends Error {
  override readonly name = 'WorkerTimeoutError';
  constructor(
    kind: string,
    readonly timeoutMs: number,
  ) {
    super(`${kind} timed out after ${timeoutMs} ms; the runtime worker was stopped`);
  }
}

/** The worker process died on its own (native fault, out of memory, exit). */
export class WorkerCrashedError extends Error {
  override readonly name = 'WorkerCrashedError';
  constructor(
    what: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
  ) {
    const how = signal ? `signal ${signal}` : `exit code ${exitCode}`;
    super(`runtime worker died (${how}) during ${what}${stderrTail ? `; last output: ${stderrTail}` : ''}`);
  }
}

/** An error thrown by a handler inside the worker, re-created on the host side. */
export class WorkerRemoteError extends Error {
  constructor(remote: SerializedError) {
    super(remote.message);
    this.name = remote.name;
    if (remote.stack) this.stack = remote.stack;
  }
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

/** InputErrors stay InputErrors across the boundary (the CLI maps them to exit code 2). */
export function deserializeError(remote: SerializedError): Error {
  if (remote.name === 'InputError') return new InputError(remote.message);
  return new WorkerRemoteError(remote);
}
