// Running maxima of the centred cosine, max_{j ∈ S} ṽ_i·ṽ_j (Stage 3's redundancy, Stage 4's coverage).
import { f32DotErrorBound, gemmNT, kernelPlan } from '../../numeric/gemm.ts';
import { pairDot, rowDots } from './simrows.ts';

const copies32 = new WeakMap<Float64Array, Float32Array>();

/** float32 copy of a float64 matrix, made once per matrix. */
export function asFloat32(x: Float64Array): Float32Array {
  let y = copies32.get(x);
  if (!y) {
    y = Float32Array.from(x);
    copies32.set(x, y);
  }
  return y;
}

/**
 * Whether similarities over these tokens are screened in float32 on onnxruntime: when a batch of eight rows
 * would run there. Only speed depends on it — the values kept are the same float64 entries either way.
 */
export function screenOnOrt(n: number, d: number): boolean {
  return kernelPlan(8 * n * d).backend === 'ort';
}

/** Rows per onnxruntime call when many tokens are absorbed at once (bounds the float32 buffer). */
const CHUNK = 256;

/**
 * best[i] = max(init_i, max over absorbed j of ṽ_i·ṽ_j), every candidate value being the float64 entry of
 * tsGemmNT's order, so the maxima are the same whichever kernel produced the rows. Large row batches come
 * from onnxruntime in float32 and only screen: an entry farther than the float32 error bound below the
 * running maximum cannot raise it, the others are recomputed exactly (`pairDot`).
 */
export class Coverage {
  readonly best: Float64Array;
  private readonly rows = new Map<number, { exact: boolean; row: Float32Array | Float64Array }>();
  private readonly eps: number;
  private readonly screen: boolean;

  constructor(
    private readonly X: Float64Array,
    private readonly n: number,
    private readonly d: number,
    init: Float64Array,
  ) {
    this.best = Float64Array.from(init);
    // float32 screening error plus any float64 summation error (unit rows).
    this.eps = f32DotErrorBound(d) + d * 2 ** -50;
    this.screen = screenOnOrt(n, d);
  }

  has(j: number): boolean {
    return this.rows.has(j);
  }

  /** Fetch the rows of `js` (those not fetched yet) in one product. */
  prefetch(js: readonly number[]): void {
    const todo = js.filter((j) => !this.rows.has(j));
    if (todo.length === 0) return;
    const { n, d, X } = this;
    if (!this.screen) {
      for (const j of todo) {
        const row = new Float64Array(n);
        rowDots(X, j * d, n, d, row, 0);
        this.rows.set(j, { exact: true, row });
      }
      return;
    }
    const out = this.rows32(todo);
    todo.forEach((j, r) => this.rows.set(j, { exact: false, row: out.subarray(r * n, (r + 1) * n) }));
  }

  /** Raise best by ṽ_j's row (fetched now when not prefetched); the row is released. */
  absorb(j: number): void {
    if (!this.rows.has(j)) this.prefetch([j]);
    const { exact, row } = this.rows.get(j) as { exact: boolean; row: Float32Array | Float64Array };
    this.rows.delete(j);
    const best = this.best;
    if (exact) {
      for (let i = 0; i < this.n; i++) if (row[i] > best[i]) best[i] = row[i];
      return;
    }
    const { X, d, eps } = this;
    for (let i = 0; i < this.n; i++) {
      if (row[i] + eps >= best[i]) {
        const s = pairDot(X, j * d, i * d, d);
        if (s > best[i]) best[i] = s;
      }
    }
  }

  /** Absorb many tokens (the maximum does not depend on the order). */
  absorbAll(js: readonly number[]): void {
    const { n, d } = this;
    if (js.length === 0) return;
    if (!this.screen) {
      for (const j of js) this.absorb(j);
      return;
    }
    const { X, eps, best } = this;
    const floor = new Float64Array(n);
    for (let c0 = 0; c0 < js.length; c0 += CHUNK) {
      const part = js.slice(c0, c0 + CHUNK);
      const out = this.rows32(part);
      // Every entry below floor_i = max(best_i, max_j s32_ij − eps) − eps is below the final maximum.
      floor.set(best);
      for (let r = 0; r < part.length; r++) {
        const o = r * n;
        for (let i = 0; i < n; i++) if (out[o + i] - eps > floor[i]) floor[i] = out[o + i] - eps;
      }
      part.forEach((j, r) => {
        const o = r * n;
        for (let i = 0; i < n; i++) {
          if (out[o + i] + eps >= floor[i]) {
            const s = pairDot(X, j * d, i * d, d);
            if (s > best[i]) best[i] = s;
          }
        }
      });
    }
  }

  /** float32 rows of `js` against every token (onnxruntime; the many tokens on the A side, so only the few are packed). */
  private rows32(js: readonly number[]): Float32Array {
    const { n, d } = this;
    const m = js.length;
    const X32 = asFloat32(this.X);
    const a = new Float32Array(m * d);
    js.forEach((j, r) => a.set(X32.subarray(j * d, (j + 1) * d), r * d));
    const t = gemmNT({ backend: 'ort', precision: 'f32' }, X32, n, a, m, d, new Float32Array(n * m));
    const out = new Float32Array(m * n);
    for (let i = 0; i < n; i++) for (let r = 0; r < m; r++) out[r * n + i] = t[i * m + r];
    return out;
  }
}
