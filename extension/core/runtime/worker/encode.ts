import { modelFileId, SessionCache, sessionKey } from '../cache.ts';
import type { Encoder } from '../encoder.ts';
import { sessionOptionsFor } from '../providers.ts';
import type { EncodePayload, EncodePayloadResult } from './kinds.ts';

// Opened encoders (vision + lazily the text session) per model files, feature layer, provider, threads.
let encoders: SessionCache<Encoder> | null = null;

async function encoderModule(): Promise<typeof import('../encoder.ts')> {
  return import('../encoder.ts');
}

/** The `encode` handler: resolve the model, reuse or open its encoder, encode the image and question. */
export async function encodeInWorker(p: EncodePayload): Promise<EncodePayloadResult> {
  const { closeEncoder, encodeImage, openEncoder, prepareModel } = await encoderModule();
  const { resolveModel } = await import('../model-folder.ts');
  encoders ??= new SessionCache<Encoder>(2, (e) => closeEncoder(e));
  const model = resolveModel(p.model);
  // A rewritten vision or text file is a new model: both mtimes are part of the key.
  const vision = await modelFileId(model.vision.path);
  const text = model.text ? await modelFileId(model.text.path) : null;
  const key = `${sessionKey(vision, p.provider, p.threads)}|text:${text ? `${text.path}@${text.mtimeMs}` : '-'}|layer:${p.featureLayer ?? 'default'}`;
  const cached = encoders.has(key);
  const enc = await encoders.getOrCreate(key, () => openEncoder(prepareModel(model, { featureLayer: p.featureLayer }), sessionOptionsFor(p.provider, p.threads)));
  const r = await encodeImage(enc, { image: p.image, question: p.question, limits: p.limits });
  return { ...r, cached };
}

export async function clearEncoders(): Promise<number> {
  const n = encoders?.size ?? 0;
  encoders?.clear();
  return n;
}
