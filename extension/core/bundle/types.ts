import type { Tensor } from './tensor.ts';

/** Where a bundle's numbers came from; shown on every view so nobody mistakes test weights for a model. */
export type WeightsKind = 'real' | 'probe' | 'random-test' | 'synthetic' | 'unknown';

export interface BundleMeta {
  /** Image path, pipeline name or file the bundle was read from. */
  source: string;
  /** Model id or folder, if any. */
  model: string;
  weightsKind: WeightsKind;
  /** Feature layer, e.g. -2 for LLaVA's penultimate CLIP layer. */
  layer: number | null;
  /** Free-form provenance (provider, timings, preprocessing); JSON-serialisable strings. */
  extra: Record<string, string>;
}

/**
 * Input roles a method may need. By default role `r` reads the bundle array named `r`;
 * a RoleMapping can point a role at another array (`cls_attn=pm_cls_attn`) or hide it (`cue=none`).
 */
export const INPUT_ROLES = [
  'features',
  'cls_attn',
  'keys',
  'text',
  'image_joint',
  'cue',
  'llm_attn',
  'codebook',
  'group',
  'always_keep',
] as const;
export type InputRole = (typeof INPUT_ROLES)[number];

export function isInputRole(s: string): s is InputRole {
  return (INPUT_ROLES as readonly string[]).includes(s);
}

/**
 * A TokenBundle: named arrays + metadata. Known arrays (validated on load):
 *   features [N,d] (required), grid [2] = (h,w), group [N], always_keep [N], cls_attn [H,N] or [N],
 *   keys [N,dk], text [M,dt], image_joint [N,dt], cue [M,d], llm_attn [N], codebook [P,d].
 * Any other array is kept as-is (e.g. `pm_cls_attn`, `cue_flat`) and can be mapped onto a role.
 */
export interface TokenBundle {
  readonly arrays: ReadonlyMap<string, Tensor>;
  readonly meta: BundleMeta;
}

/** role → array name, or null to hide the role. */
export type RoleMapping = Partial<Record<InputRole, string | null>>;
