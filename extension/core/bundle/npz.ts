import { unzipSync, zipSync, type Zippable } from 'fflate';
import { InputError } from '../errors.ts';
import { parseNpy, serializeNpy } from './npy.ts';
import type { Tensor } from './tensor.ts';

/** Read every array of a .npz archive (stored or deflated members). */
export function parseNpz(bytes: Uint8Array, fileName = 'archive'): Map<string, Tensor> {
  if (bytes.length === 0) throw new InputError(`${fileName} is empty.`);
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new InputError(`${fileName} is not a readable .npz (corrupt or truncated zip: ${why}).`);
  }
  const arrays = new Map<string, Tensor>();
  for (const [member, data] of Object.entries(entries)) {
    if (member.endsWith('/')) continue;
    if (!member.endsWith('.npy')) throw new InputError(`${fileName} contains "${member}", which is not a .npy array.`);
    const name = member.slice(0, -4);
    arrays.set(name, parseNpy(data, name));
  }
  if (arrays.size === 0) throw new InputError(`${fileName} contains no arrays.`);
  return arrays;
}

/** Write arrays as .npz; `compress` = deflate (np.savez_compressed) instead of stored (np.savez). */
export function serializeNpz(arrays: ReadonlyMap<string, Tensor>, compress = false): Uint8Array {
  const files: Zippable = {};
  for (const [name, t] of arrays) files[`${name}.npy`] = [serializeNpy(t), { level: compress ? 6 : 0 }];
  return zipSync(files);
}
