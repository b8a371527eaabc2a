// F³A winner-take-all tags (§4.3 [PROPOSED]): frozen sparse heads, exact cell sums, the k best cells.
import { mulberry32 } from '../../numeric/prng.ts';
import { roundHalfUp } from '../../numeric/rounding.ts';

export const SEED = 1234;

export interface WtaShape {
  /** Kenyon cells per head. */
  readonly m: number;
  /** Input coordinates summed by each cell. */
  readonly s: number;
  /** Winners kept per tag. */
  readonly k: number;
}

export function wtaShape(d: number): WtaShape {
  const m = Math.min(2048, 8 * d);
  return { m, s: Math.max(2, Math.min(16, roundHalfUp(0.125 * d))), k: Math.ceil(0.05 * m) };
}

const wiringCache = new Map<string, Int32Array>();

/** The frozen wiring of head h (memoised: it depends only on h, d and the head shape). */
export function headWiring(h: number, d: number, shape: WtaShape): Int32Array {
  const key = `${h}:${d}:${shape.m}:${shape.s}`;
  let w = wiringCache.get(key);
  if (!w) {
    w = buildWiring(h, d, shape);
    wiringCache.set(key, w);
  }
  return w;
}

/** Head h: m cells of s distinct coordinates, drawn in order from mulberry32(seed + h), duplicates skipped. */
function buildWiring(h: number, d: number, shape: WtaShape): Int32Array {
  const rand = mulberry32(SEED + h);
  const wires = new Int32Array(shape.m * shape.s);
  for (let c = 0; c < shape.m; c++) {
    const base = c * shape.s;
    let filled = 0;
    while (filled < shape.s) {
      const j = Math.floor(rand() * d);
      let dup = false;
      for (let t = 0; t < filled; t++) if (wires[base + t] === j) dup = true;
      if (!dup) wires[base + filled++] = j;
    }
  }
  return wires;
}

/** Rows summed per pass over the wiring (eight independent sums per wire). */
const LANES = 8;

/** Scratch reused across calls (grown on demand; the tags never alias it). */
let xt = new Float64Array(0);
let zs = new Float64Array(0);
let candZ = new Float64Array(0);
let candC = new Int32Array(0);
let pick = new Float64Array(0);

function ensure(d: number, m: number): void {
  if (xt.length < d * LANES) xt = new Float64Array(d * LANES);
  if (zs.length < m * LANES) zs = new Float64Array(m * LANES);
  if (candZ.length < m) {
    candZ = new Float64Array(m);
    candC = new Int32Array(m);
    pick = new Float64Array(m);
  }
}

/**
 * Tags of the `rows` rows of X (row-major, width d). z_c = Σ_{j ∈ W[c]} x_j starts at 0 and adds its s
 * inputs in sampling order (the pinned reading). Eight rows are transposed into one block so each wire
 * reads one contiguous group of eight values and the eight sums are independent.
 */
export function tagRows(X: Float64Array, rows: number, d: number, wires: Int32Array, shape: WtaShape): Int32Array[] {
  const { m, s } = shape;
  ensure(d, m);
  const out: Int32Array[] = [];
  for (let r0 = 0; r0 < rows; r0 += LANES) {
    const lanes = Math.min(LANES, rows - r0);
    if (lanes < LANES) xt.fill(0);
    for (let l = 0; l < lanes; l++) {
      const src = (r0 + l) * d;
      for (let j = 0; j < d; j++) xt[j * LANES + l] = X[src + j];
    }
    blockSums(wires, m, s);
    for (let l = 0; l < lanes; l++) out.push(winners(zs, l * m, shape));
  }
  return out;
}

/** zs[l·m + c] for the eight lanes of `xt`. */
function blockSums(wires: Int32Array, m: number, s: number): void {
  const x = xt;
  const z = zs;
  for (let c = 0; c < m; c++) {
    const o = c * s;
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    let a4 = 0;
    let a5 = 0;
    let a6 = 0;
    let a7 = 0;
    for (let t = 0; t < s; t++) {
      const b = wires[o + t] * LANES;
      a0 += x[b];
      a1 += x[b + 1];
      a2 += x[b + 2];
      a3 += x[b + 3];
      a4 += x[b + 4];
      a5 += x[b + 5];
      a6 += x[b + 6];
      a7 += x[b + 7];
    }
    z[c] = a0;
    z[m + c] = a1;
    z[2 * m + c] = a2;
    z[3 * m + c] = a3;
    z[4 * m + c] = a4;
    z[5 * m + c] = a5;
    z[6 * m + c] = a6;
    z[7 * m + c] = a7;
  }
}

/** Tags of several vectors (each of length d). */
export function tagAll(xs: readonly Float64Array[], wires: Int32Array, shape: WtaShape): Int32Array[] {
  if (xs.length === 0) return [];
  const d = xs[0].length;
  const X = new Float64Array(xs.length * d);
  xs.forEach((x, i) => X.set(x, i * d));
  return tagRows(X, xs.length, d, wires, shape);
}

/** WTA tag of one vector: the k cells with the largest z (ties: lower cell first), ascending cell ids. */
export function tag(x: Float64Array, wires: Int32Array, shape: WtaShape): Int32Array {
  return tagAll([x], wires, shape)[0];
}

/** The k-th largest of a[0..len) (1-based) by in-place quickselect; `a` is scrambled. */
function kthLargest(a: Float64Array, len: number, k: number): number {
  const target = len - k;
  let lo = 0;
  let hi = len - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i++] = a[j];
        a[j--] = t;
      }
    }
    if (target <= j) hi = j;
    else if (target >= i) lo = i;
    else break;
  }
  return a[target];
}

/** Sample stride and the sample rank whose value serves as the candidate threshold (≈ 1.5·k candidates expected). */
const STRIDE = 8;

/**
 * The k cells of z[off..off+m) with the largest values (ties: lower cell first), ascending. A threshold from
 * a strided sample keeps the few cells that can win; when fewer than k pass it, all m cells are candidates.
 */
function winners(z: Float64Array, off: number, shape: WtaShape): Int32Array {
  const { m, k } = shape;
  let cut = -Infinity;
  const samples = Math.floor(m / STRIDE);
  const rank = Math.ceil((1.5 * k * samples) / m) + 1;
  if (rank < samples) {
    for (let t = 0; t < samples; t++) pick[t] = z[off + t * STRIDE];
    cut = kthLargest(pick, samples, rank);
  }
  let n = collect(z, off, m, cut);
  if (n < k) n = collect(z, off, m, -Infinity);
  // n ≥ k candidates in ascending cell order; every cell not among them is below the k-th value.
  pick.set(candZ.subarray(0, n));
  const kth = kthLargest(pick, n, k);
  let above = 0;
  for (let t = 0; t < n; t++) if (candZ[t] > kth) above++;
  const out = new Int32Array(k);
  let taken = 0;
  let tiesLeft = k - above;
  for (let t = 0; t < n && taken < k; t++) {
    const v = candZ[t];
    if (v > kth) out[taken++] = candC[t];
    else if (v === kth && tiesLeft > 0) {
      out[taken++] = candC[t];
      tiesLeft--;
    }
  }
  return out;
}

/** Cells with z ≥ cut into candZ/candC (ascending cell order); returns their count. */
function collect(z: Float64Array, off: number, m: number, cut: number): number {
  let n = 0;
  for (let c = 0; c < m; c++) {
    const v = z[off + c];
    if (v >= cut) {
      candZ[n] = v;
      candC[n++] = c;
    }
  }
  return n;
}
