// Image + question → TokenBundle through the runtime worker, with the execution provider chosen once per
// worker (smoke runs in the worker; `auto` and failed explicit requests fall back to CPU).
import type { DecodeLimits } from '../runtime/image/decode.ts';
import type { EncodeResult } from '../runtime/encoder.ts';
import { selectProvider, untoldSkips, type ProviderChoice, type ProviderSetting } from '../runtime/providers.ts';
import type { RequestOptions } from '../runtime/worker/client.ts';
import type { RuntimeKinds } from '../runtime/worker/kinds.ts';

/** The part of the worker client encoding needs (narrow, so tests and the host can stand in). */
export interface EncodeWorker {
  request<N extends 'backends' | 'smoke' | 'encode'>(kind: N, payload: RuntimeKinds[N]['payload'], opts?: RequestOptions): Promise<RuntimeKinds[N]['result']>;
}

// Provider choices per worker and (setting, threads): the smoke runs happen once, not per image.
const choices = new WeakMap<EncodeWorker, Map<string, Promise<ProviderChoice>>>();

/** The provider that will run on this worker for the setting, chosen on first use and then reused. */
export function providerFor(worker: EncodeWorker, setting: ProviderSetting, threads: number, signal?: AbortSignal): Promise<ProviderChoice> {
  let perWorker = choices.get(worker);
  if (!perWorker) {
    perWorker = new Map();
    choices.set(worker, perWorker);
  }
  const key = `${setting}|${threads}`;
  const hit = perWorker.get(key);
  if (hit) return hit;
  const pending = selectProvider(worker, setting, threads, { signal });
  perWorker.set(key, pending);
  // A cancelled or failed choice is not remembered.
  pending.catch(() => {
    if (perWorker.get(key) === pending) perWorker.delete(key);
  });
  return pending;
}

export interface WorkerEncodeRequest {
  /** Resolved model folder or manifest path. */
  model: string;
  image: string;
  question: string;
  provider: ProviderSetting;
  threads: number;
  featureLayer?: number;
  limits?: DecodeLimits;
}

export interface WorkerEncodeResult extends EncodeResult {
  choice: ProviderChoice;
  /** The worker reused an encoder it had open. */
  cached: boolean;
  /** Time to choose the provider (0 when the choice was already made for this worker). */
  providerMs: number;
  encodeMs: number;
}

/** `providerNotes` for analysis.json: why each other provider did not run, then any notices. */
export function providerNotes(c: ProviderChoice): string[] {
  return [...untoldSkips(c).map((s) => `${s.provider}: ${s.reason}`), ...c.notices];
}

export async function encodeThroughWorker(worker: EncodeWorker, req: WorkerEncodeRequest, signal?: AbortSignal): Promise<WorkerEncodeResult> {
  const t0 = performance.now();
  const choice = await providerFor(worker, req.provider, req.threads, signal);
  const t1 = performance.now();
  const r = await worker.request(
    'encode',
    {
      model: req.model,
      image: req.image,
      question: req.question,
      provider: choice.provider,
      threads: choice.threads,
      ...(req.featureLayer !== undefined ? { featureLayer: req.featureLayer } : {}),
      ...(req.limits ? { limits: req.limits } : {}),
    },
    { signal },
  );
  const t2 = performance.now();
  // The bundle records the provider that ran; the setting and the fallbacks travel with it.
  const extra = r.bundle.meta.extra;
  extra.provider_setting = choice.requested;
  const notes = providerNotes(choice);
  if (notes.length > 0) extra.provider_notes = notes.join(' | ');
  return { bundle: r.bundle, notices: [...choice.notices, ...r.notices], choice, cached: r.cached, providerMs: t1 - t0, encodeMs: t2 - t1 };
}
