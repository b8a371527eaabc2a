import { MissingInputError, InputError } from '../errors.ts';
import { type Matrix, type Tensor, isFloatDType } from '../bundle/tensor.ts';
import type { InputRole, RoleMapping, TokenBundle } from '../bundle/types.ts';
import type { Grid, MethodInput } from './types.ts';

function gridOf(t: Tensor | undefined): Grid | null {
  if (!t || t.data.length !== 2) return null;
  return { h: t.data[0], w: t.data[1] };
}

/** Resolve a bundle + role mapping into the accessors a method reads. `method` names the caller in errors. */
export function methodInput(bundle: TokenBundle, mapping: RoleMapping, method: string): MethodInput {
  const arrayName = (role: InputRole): string | null => {
    const mapped = mapping[role];
    if (mapped === null) return null;
    return mapped ?? role;
  };
  const features = lookup('features');
  if (!features) throw new MissingInputError(method, 'features');
  const n = features.shape[0];

  function lookup(role: InputRole): Tensor | undefined {
    const name = arrayName(role);
    if (name === null) return undefined;
    const t = bundle.arrays.get(name);
    if (!t && mapping[role] !== undefined) throw new InputError(`--input ${role}=${name}: the bundle has no array "${name}".`);
    return t;
  }

  const cache = new Map<InputRole, Matrix>();
  return {
    n,
    grid: gridOf(bundle.arrays.get('grid')),
    hiresGrid: gridOf(bundle.arrays.get('hires_grid')),
    has: (role) => lookup(role) !== undefined,
    sourceName: (role) => arrayName(role) ?? 'none',
    matrix(role) {
      const hit = cache.get(role);
      if (hit) return hit;
      const t = lookup(role);
      if (!t) throw new MissingInputError(method, role);
      if (!isFloatDType(t.dtype)) throw new InputError(`Array "${arrayName(role)}" (role ${role}) must be floating point, got ${t.dtype}.`);
      if (t.shape.length > 2 || t.shape.length === 0) {
        throw new InputError(`Array "${arrayName(role)}" (role ${role}) must be 1-D or 2-D, got shape [${t.shape.join(',')}].`);
      }
      const [rows, cols] = t.shape.length === 1 ? [1, t.shape[0]] : [t.shape[0], t.shape[1]];
      const m: Matrix = { rows, cols, data: t.data as Float32Array | Float64Array };
      cache.set(role, m);
      return m;
    },
    vector(role) {
      const t = lookup(role);
      if (!t) throw new MissingInputError(method, role);
      if (t.shape.length !== 1) throw new InputError(`Array "${arrayName(role)}" (role ${role}) must be 1-D, got shape [${t.shape.join(',')}].`);
      return Float64Array.from(t.data);
    },
  };
}
