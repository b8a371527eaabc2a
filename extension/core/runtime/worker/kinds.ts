import type { WireTensor } from './protocol.ts';

/** onnxruntime-node's view of an execution provider in this build. */
export interface BackendInfo {
  name: string;
  /** Shipped inside the npm package. */
  bundled: boolean;
  /** Its provider library is present (always true when bundled; CUDA/TensorRT come from a separate install step). */
  installed: boolean;
}

/** Where the model comes from: a file on disk, or bytes (generated or surgically edited graphs). */
export type ModelSource = { path: string } | { bytes: Uint8Array; key?: string };

export interface SessionSpec {
  model: ModelSource;
  /** Execution provider name as onnxruntime-node spells it ("cpu", "cuda", "webgpu", "dml", "coreml"). */
  provider: string;
  /** Intra-op threads; 0 = onnxruntime's default. */
  threads: number;
}

export interface RunModelPayload extends SessionSpec {
  feeds: { [input: string]: WireTensor };
  /** Output names to fetch (all when absent). */
  fetches?: string[];
}

export interface RunModelResult {
  outputs: { [output: string]: WireTensor };
  /** Time in session.run only. */
  runMs: number;
  /** Time creating the session (0 when it came from the worker's cache). */
  createMs: number;
}

export interface SmokePayload {
  provider: string;
  threads: number;
}

export interface SmokeResult {
  provider: string;
  runMs: number;
  maxAbsDiff: number;
}

/** The request kinds every runtime worker answers. The encoder adds its own kinds beside these. */
export interface RuntimeKinds {
  ping: { payload: null; result: { pid: number } };
  backends: { payload: null; result: BackendInfo[] };
  smoke: { payload: SmokePayload; result: SmokeResult };
  'run-model': { payload: RunModelPayload; result: RunModelResult };
  /** Drop the worker's cached sessions (e.g. after the model file changed). */
  'clear-sessions': { payload: null; result: { cleared: number } };
}
