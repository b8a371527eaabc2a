// Results cached per (image sha256, question, model, params): encoded bundles and method results, so a
// repeated analysis (same image, question and model; a budget tried again) does no work twice.
import type { TokenBundle } from '../bundle/types.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { PruneResult } from '../methods/types.ts';
import { ResultCache, resultKey } from '../runtime/cache.ts';

export interface CachedResult {
  result: PruneResult;
  timeMs: number;
}

export interface InputKey {
  sha256: string;
  question: string;
  model: string;
}

function bundleBytes(b: TokenBundle): number {
  let s = 0;
  for (const t of b.arrays.values()) s += t.data.byteLength;
  return s + 4096;
}

function resultBytes(r: CachedResult): number {
  // Numbers dominate: keep + scores as doubles, the trace by its JSON length.
  return 8 * (r.result.keep.length + (r.result.scores?.length ?? 0)) + 2 * JSON.stringify(r.result.trace).length + 1024;
}

export class AnalysisCache {
  readonly bundles = new ResultCache<TokenBundle>({ maxEntries: 8, maxBytes: 512 * 1024 * 1024, sizeOf: bundleBytes });
  readonly results = new ResultCache<CachedResult>({ maxEntries: 256, maxBytes: 128 * 1024 * 1024, sizeOf: resultBytes });

  /** Key of an encoded bundle: the input, and how it was encoded (provider setting, threads). */
  bundleKey(input: InputKey, encoding: JsonObject): string {
    return resultKey({ imageSha256: input.sha256, question: input.question, model: input.model, params: { encode: encoding } });
  }

  /** Key of one method result on an input. */
  resultKey(input: InputKey, method: string, params: JsonObject, mapping: { [role: string]: string | null | undefined }): string {
    const m: { [k: string]: JsonValue } = {};
    for (const [role, name] of Object.entries(mapping)) if (name !== undefined) m[role] = name;
    return resultKey({ imageSha256: input.sha256, question: input.question, model: input.model, params: { method, params, mapping: m } });
  }
}
