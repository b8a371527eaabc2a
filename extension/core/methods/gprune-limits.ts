/** Logit given to non-edges (the official code's masking value); exp underflows to exactly 0. */
export const NON_EDGE = -5000;

/** Memory knobs (tests shrink them to exercise the streaming paths). */
export const gpruneLimits = {
  /** Cache transition weights (16 bytes per stored edge) up to this many edges; beyond, recompute exp per step. */
  pCacheEdges: 32 << 20,
};

export interface GPruneSettings {
  readonly theta: number;
  readonly temperature: number;
  readonly iterateNum: number;
}

/** Edge test of the official code: S ≥ θ survives the threshold and |S/T| ≥ 1e-6 escapes the mask. */
export function isEdge(c: number, s: GPruneSettings): boolean {
  const z = (c < s.theta ? 0 : c) / s.temperature;
  return !(Math.abs(z) < 1e-6);
}
