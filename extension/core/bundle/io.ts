import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { basename } from 'node:path';
import { InputError } from '../errors.ts';
import { parseNpy } from './npy.ts';
import { parseNpz, serializeNpz } from './npz.ts';
import type { BundleMeta, TokenBundle } from './types.ts';
import { makeBundle } from './validate.ts';
import type { Tensor } from './tensor.ts';

const META_KEY = '__prunelens_meta__';

function readBytes(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `File not found: ${path}.` : `Cannot read ${path} (${code ?? 'unknown error'}).`);
  }
}

/** Metadata travels inside the .npz as a uint8 array holding JSON, so numpy.load still opens the file. */
function decodeMeta(t: Tensor | undefined, fallbackSource: string): BundleMeta {
  const base: BundleMeta = { source: fallbackSource, model: '', weightsKind: 'unknown', layer: null, extra: {} };
  if (!t) return base;
  try {
    const parsed = JSON.parse(new TextDecoder().decode(t.data as Uint8Array)) as Partial<BundleMeta>;
    return { ...base, ...parsed, extra: { ...(parsed.extra ?? {}) } };
  } catch {
    return base;
  }
}

export function bundleFromNpzBytes(bytes: Uint8Array, fileName: string): TokenBundle {
  const arrays = parseNpz(bytes, fileName);
  const meta = decodeMeta(arrays.get(META_KEY), fileName);
  arrays.delete(META_KEY);
  return makeBundle(arrays, meta);
}

/** Load a TokenBundle from .npz, or a bare features matrix from .npy. */
export function readBundle(path: string): TokenBundle {
  const bytes = readBytes(path);
  if (path.toLowerCase().endsWith('.npy')) {
    const features = parseNpy(bytes, 'features');
    return makeBundle(new Map([['features', features]]), { source: path, model: '', weightsKind: 'unknown', layer: null, extra: {} });
  }
  return bundleFromNpzBytes(bytes, basename(path));
}

export function bundleToNpzBytes(bundle: TokenBundle, compress = false): Uint8Array {
  const arrays = new Map(bundle.arrays);
  const metaBytes = new TextEncoder().encode(JSON.stringify(bundle.meta));
  arrays.set(META_KEY, { dtype: 'uint8', shape: [metaBytes.length], data: metaBytes });
  return serializeNpz(arrays, compress);
}

/** Write atomically (temp file + rename) so a crash never leaves half a bundle. */
export function writeBundle(path: string, bundle: TokenBundle, compress = false): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, bundleToNpzBytes(bundle, compress));
  renameSync(tmp, path);
}
