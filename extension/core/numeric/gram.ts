import type { Matrix } from '../bundle/tensor.ts';

/** Rows `idx` of m copied into a new float64 matrix (group sub-sets for per-group methods). */
export function gatherRows(m: Matrix, idx: readonly number[]): Matrix {
  const d = m.cols;
  const out = new Float64Array(idx.length * d);
  idx.forEach((r, i) => {
    for (let k = 0; k < d; k++) out[i * d + k] = m.data[r * d + k];
  });
  return { rows: idx.length, cols: d, data: out };
}

const TILE = 32; // rows per tile side
const DEPTH = 512; // feature chunk: two tiles of 32×512 doubles stay in L2

/**
 * G = X·Xᵀ for row-major X [n,d] in float64, both halves filled. Tiled over rows and feature chunks so
 * 2880×4096 stays cache-friendly; a 4×2 register block reuses every load. Only tiles on or above the
 * diagonal are computed; x_i·x_j and x_j·x_i take the same products in the same order, so the result is
 * exactly symmetric.
 */
export function gramSymmetric(x: Float64Array, n: number, d: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let i0 = 0; i0 < n; i0 += TILE) {
    const i1 = Math.min(n, i0 + TILE);
    for (let j0 = i0; j0 < n; j0 += TILE) {
      const j1 = Math.min(n, j0 + TILE);
      for (let k0 = 0; k0 < d; k0 += DEPTH) accumulateTile(x, g, n, d, i0, i1, j0, j1, k0, Math.min(d, k0 + DEPTH));
    }
  }
  for (let i0 = 0; i0 < n; i0 += TILE) {
    for (let i = i0; i < Math.min(n, i0 + TILE); i++) for (let j = 0; j < i0; j++) g[i * n + j] = g[j * n + i];
  }
  return g;
}

/** Adds the k0..k1 partial dot products of rows i∈[i0,i1) and j∈[j0,j1) into g. */
function accumulateTile(
  x: Float64Array,
  g: Float64Array,
  n: number,
  d: number,
  i0: number,
  i1: number,
  j0: number,
  j1: number,
  k0: number,
  k1: number,
): void {
  const iEnd = i0 + ((i1 - i0) & ~3);
  const jEnd = j0 + ((j1 - j0) & ~1);
  for (let i = i0; i < iEnd; i += 4) {
    const a0 = i * d;
    const a1 = a0 + d;
    const a2 = a1 + d;
    const a3 = a2 + d;
    for (let j = j0; j < jEnd; j += 2) {
      const b0 = j * d;
      const b1 = b0 + d;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let k = k0; k < k1; k++) {
        const u = x[b0 + k];
        const v = x[b1 + k];
        const p = x[a0 + k];
        s00 += p * u;
        s01 += p * v;
        const q = x[a1 + k];
        s10 += q * u;
        s11 += q * v;
        const r = x[a2 + k];
        s20 += r * u;
        s21 += r * v;
        const t = x[a3 + k];
        s30 += t * u;
        s31 += t * v;
      }
      const o = i * n + j;
      g[o] += s00;
      g[o + 1] += s01;
      g[o + n] += s10;
      g[o + n + 1] += s11;
      g[o + 2 * n] += s20;
      g[o + 2 * n + 1] += s21;
      g[o + 3 * n] += s30;
      g[o + 3 * n + 1] += s31;
    }
  }
  // Ragged edges of the tile (fewer than 4 rows / 2 columns left).
  for (let i = i0; i < i1; i++) {
    for (let j = i < iEnd ? jEnd : j0; j < j1; j++) {
      const a = i * d;
      const b = j * d;
      let s = 0;
      for (let k = k0; k < k1; k++) s += x[a + k] * x[b + k];
      g[i * n + j] += s;
    }
  }
}

/** out[j] = x_i · x_j for all j (one Gram row, used by greedy methods that need only picked rows). */
export function gramRow(x: Float64Array, n: number, d: number, i: number, out: Float64Array): Float64Array {
  const a = i * d;
  const d4 = d & ~3;
  for (let j = 0; j < n; j++) {
    const b = j * d;
    // Four partial sums hide the add latency.
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let k = 0;
    for (; k < d4; k += 4) {
      s0 += x[a + k] * x[b + k];
      s1 += x[a + k + 1] * x[b + k + 1];
      s2 += x[a + k + 2] * x[b + k + 2];
      s3 += x[a + k + 3] * x[b + k + 3];
    }
    for (; k < d; k++) s0 += x[a + k] * x[b + k];
    out[j] = s0 + s1 + (s2 + s3);
  }
  return out;
}
