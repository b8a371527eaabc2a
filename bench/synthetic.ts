import type { Tensor } from '../extension/core/bundle/tensor.ts';
import type { TokenBundle } from '../extension/core/bundle/types.ts';
import { makeBundle } from '../extension/core/bundle/validate.ts';
import { mulberry32 } from '../models/onnx/builder.ts';

/** Gaussian sampler on a seeded stream (Box–Muller). */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
}

function randomMatrix(rows: number, cols: number, next: () => number, scale = 1): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = next() * scale;
  return out;
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });

/**
 * Feature-like tokens: a few semantic clusters laid out as blobs on the grid plus noise, so similarity
 * graphs have the sparse, clustered structure of real ViT features (not i.i.d. noise).
 */
function clusteredFeatures(n: number, d: number, grid: { h: number; w: number }, next: () => number): Float32Array {
  const clusters = 8;
  const centres = randomMatrix(clusters, d, next);
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const r = Math.floor(i / grid.w) % grid.h;
    const c = i % grid.w;
    const k = (Math.floor((r * 4) / grid.h) * 2 + Math.floor((c * 2) / grid.w)) % clusters;
    const norm = 1 + 0.5 * Math.abs(next());
    for (let j = 0; j < d; j++) out[i * d + j] = norm * (centres[k * d + j] + 0.6 * next());
  }
  return out;
}

export interface BenchBundleSpec {
  label: string;
  base: { h: number; w: number };
  /** High-res rows × cols (newline column added) for LLaVA-NeXT-like bundles. */
  hires?: { rows: number; cols: number };
  d: number;
}

/** A bundle with every role filled, so every method can run. */
export function syntheticBundle(spec: BenchBundleSpec, seed = 7): TokenBundle {
  const next = gaussian(mulberry32(seed));
  const nBase = spec.base.h * spec.base.w;
  const nHires = spec.hires ? spec.hires.rows * (spec.hires.cols + 1) : 0;
  const n = nBase + nHires;
  const d = spec.d;
  const arrays = new Map<string, Tensor>();
  const features = clusteredFeatures(n, d, { h: spec.base.h + (spec.hires?.rows ?? 0), w: spec.base.w }, next);
  arrays.set('features', f32([n, d], features));
  arrays.set('grid', { dtype: 'int32', shape: [2], data: Int32Array.from([spec.base.h, spec.base.w]) });
  if (spec.hires) {
    const group = new Int32Array(n);
    const always = new Uint8Array(n);
    for (let i = nBase; i < n; i++) {
      group[i] = 1;
      if ((i - nBase) % (spec.hires.cols + 1) === spec.hires.cols) always[i] = 1;
    }
    arrays.set('group', { dtype: 'int32', shape: [n], data: group });
    arrays.set('always_keep', { dtype: 'uint8', shape: [n], data: always });
    arrays.set('hires_grid', { dtype: 'int32', shape: [2], data: Int32Array.from([spec.hires.rows, spec.hires.cols]) });
  }
  const heads = 16;
  const attn = new Float32Array(heads * n);
  for (let h = 0; h < heads; h++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += attn[h * n + i] = Math.exp(1.5 * next());
    for (let i = 0; i < n; i++) attn[h * n + i] /= sum;
  }
  arrays.set('cls_attn', f32([heads, n], attn));
  const llm = new Float32Array(n);
  for (let i = 0; i < n; i++) llm[i] = attn[i];
  arrays.set('llm_attn', f32([n], llm));
  arrays.set('keys', f32([n, 64], randomMatrix(n, 64, next)));
  const dt = 768;
  arrays.set('image_joint', f32([n, dt], randomMatrix(n, dt, next)));
  arrays.set('text', f32([1, dt], randomMatrix(1, dt, next)));
  arrays.set('cue', f32([4, d], randomMatrix(4, d, next)));
  arrays.set('codebook', f32([256, d], randomMatrix(256, d, next)));
  return makeBundle(arrays, { source: `synthetic ${spec.label}`, model: 'synthetic', weightsKind: 'synthetic', layer: null, extra: {} });
}
