import type { Matrix } from '../bundle/tensor.ts';

/** Copy a matrix into float64 (methods that must match float64 references compute in it). */
export function toFloat64(m: Matrix): Float64Array {
  return m.data instanceof Float64Array ? m.data : Float64Array.from(m.data);
}

export function row(m: Matrix, i: number): Float32Array | Float64Array {
  return m.data.subarray(i * m.cols, (i + 1) * m.cols);
}

export function rowNorms(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let s = 0;
    const base = i * m.cols;
    for (let k = 0; k < m.cols; k++) {
      const v = m.data[base + k];
      s += v * v;
    }
    out[i] = Math.sqrt(s);
  }
  return out;
}

/**
 * Rows scaled to unit L2 norm (float64). `eps` guards zero rows like torch's F.normalize (max(‖x‖, eps)).
 */
export function normalizeRows(m: Matrix, eps = 1e-12): Float64Array {
  const out = new Float64Array(m.rows * m.cols);
  const norms = rowNorms(m);
  for (let i = 0; i < m.rows; i++) {
    const inv = 1 / Math.max(norms[i], eps);
    const base = i * m.cols;
    for (let k = 0; k < m.cols; k++) out[base + k] = m.data[base + k] * inv;
  }
  return out;
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
