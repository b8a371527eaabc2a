import { InputError } from '../errors.ts';
import { type Tensor, isFloatDType } from './tensor.ts';
import type { BundleMeta, TokenBundle } from './types.ts';

const fmt = (shape: readonly number[]): string => `[${shape.join(',')}]`;

function requireRank(name: string, t: Tensor, ranks: number[]): void {
  if (!ranks.includes(t.shape.length)) {
    const want = ranks.map((r) => `${r}-D`).join(' or ');
    throw new InputError(`Array "${name}" must be ${want}, got shape ${fmt(t.shape)}.`);
  }
}

function requireFinite(name: string, t: Tensor): void {
  if (!isFloatDType(t.dtype)) return;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      const what = Number.isNaN(d[i]) ? 'NaN' : 'Inf';
      throw new InputError(`Array "${name}" contains ${what} at element ${i}.`);
    }
  }
}

/** Arrays whose first (or only, or last for cls_attn) axis runs over the N tokens. */
const TOKEN_AXIS_ARRAYS = ['keys', 'image_joint', 'group', 'always_keep', 'llm_attn'] as const;

/** Validate a set of named arrays as a TokenBundle; throws one clear InputError for the first problem. */
export function makeBundle(arrays: ReadonlyMap<string, Tensor>, meta: BundleMeta): TokenBundle {
  const features = arrays.get('features');
  if (!features) throw new InputError('The bundle has no "features" array [N,d].');
  requireRank('features', features, [2]);
  const [n, d] = features.shape;
  if (n === 0 || d === 0) throw new InputError(`Array "features" is empty (shape ${fmt(features.shape)}).`);
  if (!isFloatDType(features.dtype)) throw new InputError(`Array "features" must be floating point, got ${features.dtype}.`);

  for (const [name, t] of arrays) {
    if (t.shape.length > 0 && t.data.length === 0) throw new InputError(`Array "${name}" is empty (shape ${fmt(t.shape)}).`);
    requireFinite(name, t);
  }

  for (const name of TOKEN_AXIS_ARRAYS) {
    const t = arrays.get(name);
    if (!t) continue;
    const wantRank = name === 'keys' || name === 'image_joint' ? 2 : 1;
    requireRank(name, t, [wantRank]);
    if (t.shape[0] !== n) throw new InputError(`Array "${name}" has ${t.shape[0]} tokens but "features" has ${n}.`);
  }

  const cls = arrays.get('cls_attn');
  if (cls) {
    requireRank('cls_attn', cls, [1, 2]);
    const tokens = cls.shape[cls.shape.length - 1];
    if (tokens !== n) throw new InputError(`Array "cls_attn" covers ${tokens} tokens but "features" has ${n} (expected [H,${n}] or [${n}]).`);
  }

  for (const name of ['text', 'cue', 'codebook'] as const) {
    const t = arrays.get(name);
    if (t) requireRank(name, t, [2]);
  }
  const cue = arrays.get('cue');
  if (cue && cue.shape[1] !== d) throw new InputError(`Array "cue" has width ${cue.shape[1]} but "features" has width ${d}.`);
  const codebook = arrays.get('codebook');
  if (codebook && codebook.shape[1] !== d) {
    throw new InputError(`Array "codebook" has width ${codebook.shape[1]} but "features" has width ${d}; load a codebook built for this model's features.`);
  }
  const text = arrays.get('text');
  const joint = arrays.get('image_joint');
  if (text && joint && text.shape[1] !== joint.shape[1]) {
    throw new InputError(`Array "text" has width ${text.shape[1]} but "image_joint" has width ${joint.shape[1]}; they must share the CLIP joint space.`);
  }

  const grid = arrays.get('grid');
  if (grid) {
    if (grid.shape.length !== 1 || grid.shape[0] !== 2) throw new InputError(`Array "grid" must be [2] = (h,w), got shape ${fmt(grid.shape)}.`);
    const [h, w] = [grid.data[0], grid.data[1]];
    if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) throw new InputError(`Array "grid" must hold two positive integers, got (${h},${w}).`);
    if (!arrays.has('group') && h * w !== n) {
      throw new InputError(`Array "grid" is ${h}×${w} = ${h * w} tokens but "features" has ${n}.`);
    }
  }
  return { arrays, meta };
}
