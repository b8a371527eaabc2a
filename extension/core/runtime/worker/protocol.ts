/**
 * Messages between the host-side client and the runtime worker (a child process). Payloads travel
 * over Node's IPC channel with `serialization: 'advanced'` (structured clone), so typed arrays and
 * ArrayBuffers cross without JSON encoding.
 */

/** Element types a tensor may carry across the process boundary. */
export type WireDType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'int8' | 'bool';

export type WireData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A tensor as it crosses the IPC channel. */
export interface WireTensor {
  type: WireDType;
  dims: number[];
  data: WireData;
}

/** A request kind's payload and result types. */
export interface KindSpec {
  payload: unknown;
  result: unknown;
}

/** Kind name → payload/result. Extend with an interface of your own (see handlers.ts). */
export type KindMap = { [kind: string]: KindSpec };

export interface RequestMessage {
  type: 'request';
  id: number;
  kind: string;
  payload: unknown;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type ReplyMessage =
  | { type: 'reply'; id: number; ok: true; result: unknown }
  | { type: 'reply'; id: number; ok: false; error: SerializedError };

/** Sent once by the worker when its handlers are installed. */
export interface ReadyMessage {
  type: 'ready';
  pid: number;
  kinds: string[];
}

export type WorkerMessage = ReplyMessage | ReadyMessage;

export function isWorkerMessage(m: unknown): m is WorkerMessage {
  if (typeof m !== 'object' || m === null) return false;
  const t = (m as { type?: unknown }).type;
  return t === 'reply' || t === 'ready';
}

export function isRequestMessage(m: unknown): m is RequestMessage {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Partial<RequestMessage>;
  return r.type === 'request' && typeof r.id === 'number' && typeof r.kind === 'string';
}
