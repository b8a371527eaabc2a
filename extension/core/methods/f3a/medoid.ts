// Stage 4's medoid: the untaken member of a cell with the largest mean ṽ·ṽ over the whole cell.
import { f32DotErrorBound, gemmNT } from '../../numeric/gemm.ts';
import { asFloat32 } from './coverage.ts';
import { dot, npSum } from './npsum.ts';

interface CellScores {
  /** Exact scores by member position (NaN until computed). */
  readonly exact: Float64Array;
  /** float32-screened scores (large cells only). */
  readonly approx: Float64Array | null;
}

/**
 * Medoids of cells, cached per run (a cell can be recovered several times). A member's score is
 * npSum(ṽ_a·ṽ_b over the cell's members b, each by `dot`) / |c|. Without screening every member is scored
 * exactly; with it, first in float32 (one onnxruntime product per cell), and only members that float32 cannot rule out are
 * scored exactly, so the choice — the first best member in cell order — is the one the exact scores make.
 */
export class Medoids {
  private readonly cells = new Map<number, CellScores>();

  constructor(
    private readonly X: Float64Array,
    private readonly d: number,
    /** Score large cells in float32 first (see screenOnOrt). */
    private readonly screen: boolean,
  ) {}

  /** The medoid of `mem` among members not taken, or −1 when every member is taken. */
  of(cell: number, mem: readonly number[], taken: Uint8Array): number {
    const m = mem.length;
    const sc = this.scores(cell, mem);
    let limit = -Infinity;
    if (sc.approx) {
      // Members whose float32 score is more than 2·tol below the best one's cannot be the medoid.
      let top = -Infinity;
      for (let a = 0; a < m; a++) if (!taken[mem[a]] && sc.approx[a] > top) top = sc.approx[a];
      limit = top - 2 * (f32DotErrorBound(this.d) + (this.d + m) * 2 ** -50);
    }
    let token = -1;
    let best = -Infinity;
    for (let a = 0; a < m; a++) {
      if (taken[mem[a]] || (sc.approx && sc.approx[a] < limit)) continue;
      if (Number.isNaN(sc.exact[a])) sc.exact[a] = this.exactScore(mem, a);
      if (token === -1 || sc.exact[a] > best) {
        token = mem[a];
        best = sc.exact[a];
      }
    }
    return token;
  }

  private scores(cell: number, mem: readonly number[]): CellScores {
    let sc = this.cells.get(cell);
    if (!sc) {
      const m = mem.length;
      sc = this.screen ? { exact: new Float64Array(m).fill(NaN), approx: this.approxScores(mem) } : { exact: this.exactScores(mem), approx: null };
      this.cells.set(cell, sc);
    }
    return sc;
  }

  /** Every member's score from the cell's Gram (each pair once: dot(a, b) and dot(b, a) are the same sum). */
  private exactScores(mem: readonly number[]): Float64Array {
    const { X, d } = this;
    const m = mem.length;
    const g = new Float64Array(m * m);
    for (let a = 0; a < m; a++) {
      for (let b = a; b < m; b++) {
        const v = dot(X, mem[a] * d, X, mem[b] * d, d);
        g[a * m + b] = v;
        g[b * m + a] = v;
      }
    }
    return Float64Array.from({ length: m }, (_, a) => npSum(g, a * m, m) / m);
  }

  private exactScore(mem: readonly number[], a: number): number {
    const { X, d } = this;
    const row = Float64Array.from(mem, (j) => dot(X, mem[a] * d, X, j * d, d));
    return npSum(row) / mem.length;
  }

  private approxScores(mem: readonly number[]): Float64Array {
    const { d } = this;
    const m = mem.length;
    const X32 = asFloat32(this.X);
    const rows = new Float32Array(m * d);
    mem.forEach((j, r) => rows.set(X32.subarray(j * d, (j + 1) * d), r * d));
    const g = gemmNT({ backend: 'ort', precision: 'f32' }, rows, m, rows, m, d, new Float32Array(m * m));
    const out = new Float64Array(m);
    for (let a = 0; a < m; a++) {
      let s = 0;
      for (let b = 0; b < m; b++) s += g[a * m + b];
      out[a] = s / m;
    }
    return out;
  }
}
