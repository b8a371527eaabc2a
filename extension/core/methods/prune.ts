import type { RoleMapping, TokenBundle } from '../bundle/types.ts';
import { methodInput } from './input.ts';
import { resolveParams } from './params.ts';
import { getMethod } from './registry.ts';
import type { Params, PruneResult } from './types.ts';

/** Run one method on a bundle: validate params, resolve input roles, run, check the result contract. */
export function prune(bundle: TokenBundle, methodId: string, params: Params = {}, mapping: RoleMapping = {}): PruneResult {
  const spec = getMethod(methodId);
  const resolved = resolveParams(spec, params);
  const input = methodInput(bundle, mapping, spec.id);
  const result = spec.run(input, resolved);
  assertContract(result, input.n);
  return result;
}

function assertContract(r: PruneResult, n: number): void {
  for (let i = 0; i < r.keep.length; i++) {
    const k = r.keep[i];
    if (!Number.isInteger(k) || k < 0 || k >= n) throw new Error(`${r.method} returned out-of-range index ${k}`);
    if (i > 0 && r.keep[i - 1] >= k) throw new Error(`${r.method} returned keep that is not strictly ascending`);
  }
  if (r.scores && r.scores.length !== n) throw new Error(`${r.method} returned ${r.scores.length} scores for ${n} tokens`);
}
