import { InputError } from '../errors.ts';
import type { Grid, MethodInput } from './types.ts';

/**
 * How a bundle's tokens split into pruning groups.
 * - single: one group (every token not marked always_keep).
 * - llava_next: base view (group 0) + high-res grid (group 1) whose row-end newline tokens are always kept.
 */
export interface TokenLayout {
  readonly kind: 'single' | 'llava_next';
  /** Scored tokens of the base view (single layout: all scored tokens), ascending. */
  readonly base: number[];
  /** Scored high-res tokens (newlines excluded), ascending; empty for the single layout. */
  readonly hires: number[];
  /** Tokens kept unconditionally (LLaVA-NeXT newline tokens), ascending. */
  readonly alwaysKeep: number[];
  readonly hiresGrid: Grid | null;
}

function flags(input: MethodInput, role: 'group' | 'always_keep', allowed: readonly number[]): Float64Array | null {
  if (!input.has(role)) return null;
  const v = input.vector(role);
  if (v.length !== input.n) throw new InputError(`Array "${input.sourceName(role)}" (role ${role}) has ${v.length} entries for ${input.n} tokens.`);
  const bad = v.findIndex((x) => !allowed.includes(x));
  if (bad >= 0) throw new InputError(`Array "${input.sourceName(role)}" (role ${role}) must hold only ${allowed.join('/')}, got ${v[bad]} at token ${bad}.`);
  return v;
}

/**
 * Infer the layout from the `group` / `always_keep` roles; without `group`, a bundle whose length is
 * base grid + rows·(cols+1) with a `hires_grid` is read in the official LLaVA-NeXT order (newline last per row).
 */
export function inferLayout(input: MethodInput): TokenLayout {
  const n = input.n;
  const group = flags(input, 'group', [0, 1]);
  const keepFlag = flags(input, 'always_keep', [0, 1]);
  const all = Array.from({ length: n }, (_, i) => i);
  const alwaysKeep = keepFlag ? all.filter((i) => keepFlag[i] === 1) : [];
  const scored = (i: number): boolean => !keepFlag || keepFlag[i] === 0;

  if (group && group.some((g) => g === 1)) {
    const base = all.filter((i) => group[i] === 0 && scored(i));
    const hires = all.filter((i) => group[i] === 1 && scored(i));
    const hg = input.hiresGrid;
    if (hg && hg.h * hg.w !== hires.length) {
      throw new InputError(`hires_grid ${hg.h}×${hg.w} implies ${hg.h * hg.w} high-res tokens, but group/always_keep mark ${hires.length}.`);
    }
    return { kind: 'llava_next', base, hires, alwaysKeep, hiresGrid: hg };
  }

  const g = input.grid;
  const hg = input.hiresGrid;
  if (!group && !keepFlag && g && hg && n === g.h * g.w + hg.h * (hg.w + 1)) {
    const baseLen = g.h * g.w;
    const base = all.slice(0, baseLen);
    const hires: number[] = [];
    const newline: number[] = [];
    for (let i = baseLen; i < n; i++) ((i - baseLen) % (hg.w + 1) === hg.w ? newline : hires).push(i);
    return { kind: 'llava_next', base, hires, alwaysKeep: newline, hiresGrid: hg };
  }

  return { kind: 'single', base: all.filter(scored), hires: [], alwaysKeep, hiresGrid: null };
}
