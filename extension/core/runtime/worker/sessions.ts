import type { InferenceSession } from 'onnxruntime-node';
import { SessionCache, modelFileId, sessionKey, sha256Bytes } from '../cache.ts';
import { sessionOptionsFor } from '../providers.ts';
import type { SessionSpec } from './kinds.ts';

export type OrtModule = typeof import('onnxruntime-node');

let ortModule: Promise<OrtModule> | undefined;

/** onnxruntime-node, loaded on first use (requests like ping never pay for it). */
export function loadOrt(): Promise<OrtModule> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

// A few sessions per worker: a vision tower, a text tower and one spare.
const sessions = new SessionCache<InferenceSession>(4, (s) => s.release());

/** A session for the spec, from this worker's cache (per model file + mtime, provider, threads). */
export async function getSession(spec: SessionSpec): Promise<{ session: InferenceSession; createMs: number }> {
  const ort = await loadOrt();
  const id = 'path' in spec.model ? await modelFileId(spec.model.path) : { bytesKey: spec.model.key ?? sha256Bytes(spec.model.bytes) };
  const key = sessionKey(id, spec.provider, spec.threads);
  let createMs = 0;
  const session = await sessions.getOrCreate(key, async () => {
    const t0 = performance.now();
    const options = sessionOptionsFor(spec.provider, spec.threads);
    const s = 'path' in spec.model ? await ort.InferenceSession.create(spec.model.path, options) : await ort.InferenceSession.create(spec.model.bytes, options);
    createMs = performance.now() - t0;
    return s;
  });
  return { session, createMs };
}

export function clearSessions(): number {
  const n = sessions.size;
  sessions.clear();
  return n;
}
