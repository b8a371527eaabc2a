import type { EncodeResult } from '../encoder.ts';
import type { DecodeLimits } from '../image/decode.ts';
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

/** Image + question → TokenBundle with a model folder or manifest (the encoder, run in the worker). */
export interface EncodePayload {
  /** Model folder (Hugging Face / transformers.js layout) or prunelens.json manifest. */
  model: string;
  featureLayer?: number;
  image: string;
  /** Empty or whitespace-only = question-agnostic analysis. */
  question?: string;
  limits?: DecodeLimits;
  provider: string;
  threads: number;
}

export interface EncodePayloadResult extends EncodeResult {
  /** The worker reused an encoder (sessions) it had already opened for this model, provider and threads. */
  cached: boolean;
}

/** The request kinds every runtime worker answers. */
export interface RuntimeKinds {
  ping: { payload: null; result: { pid: number } };
  backends: { payload: null; result: BackendInfo[] };
  smoke: { payload: SmokePayload; result: SmokeResult };
  'run-model': { payload: RunModelPayload; result: RunModelResult };
  encode: { payload: EncodePayload; result: EncodePayloadResult };
  /** Drop the worker's cached sessions (e.g. after the model file changed). */
  'clear-sessions': { payload: null; result: { cleared: number } };
}
