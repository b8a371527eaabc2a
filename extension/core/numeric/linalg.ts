import type { Matrix } from '../bundle/tensor.ts';

/** Copy a matrix into float64 (methods that must match float64 references compute in it). */
export function toFloat64(m: Matrix): Float64Array {
  return m.data instanceof Float64Array ? m.data : Float64Array.from(m.data);
}

export function row(m: Matrix, i: number): Float32Array | Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

/** ‖x_i‖₂ of every row, Σ x_k² summed left to right in float64. */
export function rowNorms(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  // One loop per array type: a load site that sees both runs several times slower (every method calls this).
  if (m.data instanceof Float32Array) norms32(m.data, m.rows, m.cols, out);
  else norms64(m.data, m.rows, m.cols, out);
  return out;
}

function norms32(x: Float32Array, rows: number, cols: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = i * cols; k < (i + 1) * cols; k++) s += x[k] * x[k];
    out[i] = Math.sqrt(s);
  }
}

function norms64(x: Float64Array, rows: number, cols: number, out: Float64Array): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let k = i * cols; k < (i + 1) * cols; k++) s += x[k] * x[k];
    out[i] = Math.sqrt(s);
  }
}

/**
 * Rows scaled to unit L2 norm (float64). `eps` guards zero rows like torch's F.normalize (max(‖x‖, eps)).
 */
export function normalizeRows(m: Matrix, eps = 1e-12): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  const norms = rowNorms(m);
  const inv = norms.map((nrm) => 1 / Math.max(nrm, eps));
  if (m.data instanceof Float32Array) scale32(m.data, m.cols, inv, out);
  else scale64(m.data, m.cols, inv, out);
  return out;
}

function scale32(x: Float32Array, cols: number, inv: Float64Array, out: Float64Array): void {
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i];
    for (let k = i * cols; k < (i + 1) * cols; k++) out[k] = x[k] * f;
  }
}

function scale64(x: Float64Array, cols: number, inv: Float64Array, out: Float64Array): void {
  for (let i = 0; i < inv.length; i++) {
    const f = inv[i];
    for (let k = i * cols; k < (i + 1) * cols; k++) out[k] = x[k] * f;
  }
}

/** C = A·Bᵀ for row-major A [n,d], B [m,d] (float64). */
export function matmulTransB(a: ArrayLike<number>, n: number, b: ArrayLike<number>, m: number, d: number): Float64Array {
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++) {
    const ai = i * d;
    for (let j = 0; j < m; j++) {
      const bj = j * d;
      let s = 0;
      for (let k = 0; k < d; k++) s += a[ai + k] * b[bj + k];
      out[i * m + j] = s;
    }
  }
  return out;
}

/** Pairwise cosine similarity of the rows of X [n,d] (float64, n×n). */
export function cosineSimilarity(m: Matrix, eps = 1e-12): Float64Array {
  const x = normalizeRows(m, eps);
  return matmulTransB(x, m.rows, x, m.rows, m.cols);
}
