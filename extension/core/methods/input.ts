import { MissingInputError, InputError } from '../errors.ts';
import { type Matrix, type Tensor, isFloatDType } from '../bundle/tensor.ts';
import type { InputRole, RoleMapping, TokenBundle } from '../bundle/types.ts';
import type { Grid, MethodInput } from './types.ts';

function gridOf(t: Tensor | undefined): Grid | null {
  if (!t || t.data.length !== 2) return null;
  return { h: t.data[0], w: t.data[1] };
}

// A class rather than an object of closures: prune() builds one per run, and per-run closures cost more
// than the smallest methods themselves.
class BundleInput implements MethodInput {
  readonly n: number;
  readonly grid: Grid | null;
  readonly hiresGrid: Grid | null;
  private readonly cache = new Map<InputRole, Matrix>();

  constructor(
    private readonly bundle: TokenBundle,
    private readonly mapping: RoleMapping,
    private readonly method: string,
  ) {
    const features = this.lookup('features');
    if (!features) throw new MissingInputError(method, 'features');
    this.n = features.shape[0];
    this.grid = gridOf(bundle.arrays.get('grid'));
    this.hiresGrid = gridOf(bundle.arrays.get('hires_grid'));
  }

  private arrayName(role: InputRole): string | null {
    const mapped = this.mapping[role];
    if (mapped === null) return null;
    return mapped ?? role;
  }

  private lookup(role: InputRole): Tensor | undefined {
    const name = this.arrayName(role);
    if (name === null) return undefined;
    const t = this.bundle.arrays.get(name);
    if (!t && this.mapping[role] !== undefined) throw new InputError(`--input ${role}=${name}: the bundle has no array "${name}".`);
    return t;
  }

  has(role: InputRole): boolean {
    return this.lookup(role) !== undefined;
  }

  sourceName(role: InputRole): string {
    return this.arrayName(role) ?? 'none';
  }

  matrix(role: InputRole): Matrix {
    const hit = this.cache.get(role);
    if (hit) return hit;
    const t = this.lookup(role);
    if (!t) throw new MissingInputError(this.method, role);
    if (!isFloatDType(t.dtype)) throw new InputError(`Array "${this.arrayName(role)}" (role ${role}) must be floating point, got ${t.dtype}.`);
    if (t.shape.length > 2 || t.shape.length === 0) {
      throw new InputError(`Array "${this.arrayName(role)}" (role ${role}) must be 1-D or 2-D, got shape [${t.shape.join(',')}].`);
    }
    const [rows, cols] = t.shape.length === 1 ? [1, t.shape[0]] : [t.shape[0], t.shape[1]];
    const m: Matrix = { rows, cols, data: t.data as Float32Array | Float64Array };
    this.cache.set(role, m);
    return m;
  }

  vector(role: InputRole): Float64Array {
    const t = this.lookup(role);
    if (!t) throw new MissingInputError(this.method, role);
    if (t.shape.length !== 1) throw new InputError(`Array "${this.arrayName(role)}" (role ${role}) must be 1-D, got shape [${t.shape.join(',')}].`);
    return Float64Array.from(t.data);
  }
}

/** Resolve a bundle + role mapping into the accessors a method reads. `method` names the caller in errors. */
export function methodInput(bundle: TokenBundle, mapping: RoleMapping, method: string): MethodInput {
  return new BundleInput(bundle, mapping, method);
}
