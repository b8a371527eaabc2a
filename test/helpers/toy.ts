// The ALGORITHMS.md §8 toy the method tests share: N = 16 tokens of width d = 8.
import { makeTensor, type Tensor } from '../../extension/core/bundle/tensor.ts';
import type { BundleMeta, TokenBundle } from '../../extension/core/bundle/types.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';

export const TOY_N = 16;
export const TOY_D = 8;

/** X[i,k] = sin(0.7i + 1.3k) + 0.1·cos(i·k) + 0.5·[i mod 4 < 2]·cos(0.3k), row-major 16×8. */
export function toyX(): Float64Array {
  const x = new Float64Array(TOY_N * TOY_D);
  for (let i = 0; i < TOY_N; i++) {
    for (let k = 0; k < TOY_D; k++) x[i * TOY_D + k] = Math.sin(0.7 * i + 1.3 * k) + 0.1 * Math.cos(i * k) + 0.5 * (i % 4 < 2 ? 1 : 0) * Math.cos(0.3 * k);
  }
  return x;
}

export const SYNTHETIC_META: BundleMeta = { source: 'toy', model: '', weightsKind: 'synthetic', layer: null, extra: {} };

/** A synthetic bundle of the given arrays. */
export function bundleOf(arrays: Record<string, Tensor>): TokenBundle {
  return makeBundle(new Map(Object.entries(arrays)), SYNTHETIC_META);
}

/** The toy as a bundle's features. */
export const toyFeatures = (): Tensor => makeTensor('float64', [TOY_N, TOY_D], toyX());
