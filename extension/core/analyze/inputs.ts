// Reading what an analysis starts from besides the image: a dumped bundle, a codebook file, and the
// model-specific method settings a manifest states.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseNpy } from '../bundle/npy.ts';
import { parseNpz } from '../bundle/npz.ts';
import type { Tensor } from '../bundle/tensor.ts';
import type { TokenBundle } from '../bundle/types.ts';
import { makeBundle } from '../bundle/validate.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import { MANIFEST_FILE, parseManifest } from '../runtime/model-folder.ts';
import { builtinProbeDir, PROBE_ID } from './model-ref.ts';

function readBytes(path: string, what: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${what} not found: ${path}.` : `Cannot read ${path} (${code ?? String(err)}).`);
  }
}

/** A codebook [P,d] from .npy (the matrix itself) or .npz (array "codebook", or its only array). */
export function readCodebook(path: string): Tensor {
  const bytes = readBytes(path, 'Codebook');
  let t: Tensor | undefined;
  if (path.toLowerCase().endsWith('.npy')) t = parseNpy(bytes, 'codebook');
  else if (path.toLowerCase().endsWith('.npz')) {
    const arrays = parseNpz(bytes, basename(path));
    t = arrays.get('codebook') ?? (arrays.size === 1 ? [...arrays.values()][0] : undefined);
    if (!t) throw new InputError(`${path} has no array "codebook" (arrays: ${[...arrays.keys()].join(', ')}).`);
  } else throw new InputError(`Codebook ${path} must be a .npy matrix or a .npz with an array "codebook".`);
  if (t.shape.length !== 2) throw new InputError(`Codebook ${path} must be a 2-D [P,d] matrix, got shape [${t.shape.join(',')}].`);
  return t;
}

/** The bundle with a codebook array added (replacing any it had). */
export function withCodebook(bundle: TokenBundle, codebook: Tensor): TokenBundle {
  const arrays = new Map(bundle.arrays);
  arrays.set('codebook', codebook);
  return makeBundle(arrays, bundle.meta);
}

/**
 * `methodDefaults` of a model named by the user or by a bundle's metadata, read from its manifest
 * alone (no ONNX needed); {} for folders without a manifest.
 */
export function manifestMethodDefaults(model: string): { [methodId: string]: JsonObject } {
  const path = model.trim().toLowerCase() === PROBE_ID ? builtinProbeDir() : resolve(model);
  if (!existsSync(path)) throw new InputError(`Model not found: ${model}.`);
  const manifest = statSync(path).isDirectory() ? join(path, MANIFEST_FILE) : path;
  if (!manifest.toLowerCase().endsWith('.json') || !existsSync(manifest)) return {};
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(manifest, 'utf8'));
  } catch (err) {
    throw new InputError(`${manifest} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  return parseManifest(json, manifest).methodDefaults ?? {};
}
