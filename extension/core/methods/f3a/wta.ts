// F³A winner-take-all tags (§4.3 [PROPOSED]): frozen sparse heads, exact cell sums, the k best cells.
import { mulberry32 } from '../../numeric/prng.ts';
import { kthLargest } from '../../numeric/ranking.ts';
import { roundHalfUp } from '../../numeric/rounding.ts';
import { loadSums } from './sums-wasm.ts';

const SEED = 1234;

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
let candZ = new Float64Array(0);
let candC = new Int32Array(0);
let pick = new Float64Array(0);
let tsXt = new Float64Array(0);
let tsZ = new Float64Array(0);

/** Where a block's transposed rows (xt[j·8 + l]), its sums (z[c·8 + l]) and the wirings live. */
interface Workspace {
  readonly xt: Float64Array;
  readonly z: Float64Array;
  /** Sums of the current block for wiring h. */
  sums(h: number): void;
}

function workspace(d: number, heads: readonly Int32Array[], shape: WtaShape, kernel: 'auto' | 'ts'): Workspace {
  const { m, s } = shape;
  if (pick.length < m) {
    candZ = new Float64Array(m * LANES);
    candC = new Int32Array(m * LANES);
    pick = new Float64Array(m);
  }
  const wasm = kernel === 'auto' ? loadSums() : null;
  if (wasm) {
    const xtBytes = d * LANES * 8;
    const zBytes = m * LANES * 8;
    const wBytes = m * s * 4;
    wasm.reserve(xtBytes + zBytes + heads.length * wBytes);
    const buf = wasm.buffer();
    heads.forEach((w, h) => new Int32Array(buf, xtBytes + zBytes + h * wBytes, m * s).set(w));
    return {
      xt: new Float64Array(buf, 0, d * LANES),
      z: new Float64Array(buf, xtBytes, m * LANES),
      sums: (h) => wasm.sums(0, xtBytes, xtBytes + zBytes + h * wBytes, m, s),
    };
  }
  if (tsXt.length < d * LANES) tsXt = new Float64Array(d * LANES);
  if (tsZ.length < m * LANES) tsZ = new Float64Array(m * LANES);
  const xt = tsXt;
  const z = tsZ;
  return { xt, z, sums: (h) => blockSums(xt, z, heads[h], m, s) };
}

/**
 * Tags of the `rows` rows of X (row-major, width d) under each wiring: out[h][i]. z_c = Σ_{j ∈ W[c]} x_j
 * starts at 0 and adds its s inputs in sampling order (the pinned reading). Eight rows are transposed into
 * one block, so each wire reads eight contiguous values and the eight sums are independent; the block is
 * summed for every head while it is in cache (WebAssembly SIMD where available, else TypeScript, same sums).
 */
export function tagHeads(X: Float64Array, rows: number, d: number, heads: readonly Int32Array[], shape: WtaShape, kernel: 'auto' | 'ts' = 'auto'): Int32Array[][] {
  const ws = workspace(d, heads, shape, kernel);
  const { xt, z } = ws;
  const out = heads.map(() => new Array<Int32Array>(rows));
  for (let r0 = 0; r0 < rows; r0 += LANES) {
    const lanes = Math.min(LANES, rows - r0);
    if (lanes < LANES) xt.fill(0);
    for (let l = 0; l < lanes; l++) {
      const src = (r0 + l) * d;
      for (let j = 0; j < d; j++) xt[j * LANES + l] = X[src + j];
    }
    for (let h = 0; h < heads.length; h++) {
      ws.sums(h);
      winnersBlock(z, lanes, shape, out[h], r0, h === 0);
    }
  }
  return out;
}

/** Tags of the rows of X under one wiring. */
export function tagRows(X: Float64Array, rows: number, d: number, wires: Int32Array, shape: WtaShape, kernel: 'auto' | 'ts' = 'auto'): Int32Array[] {
  return tagHeads(X, rows, d, [wires], shape, kernel)[0];
}

/** z[c·8 + l] for the eight lanes of xt (the TypeScript kernel). */
function blockSums(x: Float64Array, z: Float64Array, wires: Int32Array, m: number, s: number): void {
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
    const q = c * LANES;
    z[q] = a0;
    z[q + 1] = a1;
    z[q + 2] = a2;
    z[q + 3] = a3;
    z[q + 4] = a4;
    z[q + 5] = a5;
    z[q + 6] = a6;
    z[q + 7] = a7;
  }
}

/** WTA tag of one vector: the k cells with the largest z (ties: lower cell first), ascending cell ids. */
export function tag(x: Float64Array, wires: Int32Array, shape: WtaShape): Int32Array {
  return tagRows(x, 1, x.length, wires, shape)[0];
}


/** Sample stride: one cell in eight gives the candidate threshold (≈ 1.5·k candidates expected). */
const STRIDE = 8;
const cuts = new Float64Array(LANES);
const counts = new Int32Array(LANES);

/**
 * Tags of the block's first `lanes` lanes: the k cells with the largest z[c·8 + l] (ties: lower cell first),
 * ascending, into out[at + l]. A threshold from a strided sample of each lane keeps the few cells that can
 * win (one pass over z for all lanes); a lane with fewer than k cells past it takes all m as candidates.
 */
function winnersBlock(z: Float64Array, lanes: number, shape: WtaShape, out: Int32Array[], at: number, resample: boolean): void {
  const { m, k } = shape;
  const cz = candZ;
  const cc = candC;
  const samples = Math.floor(m / STRIDE);
  const rank = Math.ceil((1.5 * k * samples) / m) + 1;
  // Every head sums the same rows over equally drawn cells, so the first head's cuts serve the others.
  for (let l = 0; resample && l < LANES; l++) {
    let cut = l < lanes ? -Infinity : Infinity;
    if (l < lanes && rank < samples) {
      const pk = pick;
      for (let t = 0; t < samples; t++) pk[t] = z[l + t * STRIDE * LANES];
      cut = kthLargest(pk, rank, samples);
    }
    cuts[l] = cut;
  }
  // One pass over the block for all eight lanes; lane l's candidates go to cz/cc[l·m …].
  const [u0, u1, u2, u3, u4, u5, u6, u7] = cuts;
  let n0 = 0;
  let n1 = m;
  let n2 = 2 * m;
  let n3 = 3 * m;
  let n4 = 4 * m;
  let n5 = 5 * m;
  let n6 = 6 * m;
  let n7 = 7 * m;
  for (let c = 0, q = 0; c < m; c++, q += LANES) {
    const v0 = z[q];
    const v1 = z[q + 1];
    const v2 = z[q + 2];
    const v3 = z[q + 3];
    const v4 = z[q + 4];
    const v5 = z[q + 5];
    const v6 = z[q + 6];
    const v7 = z[q + 7];
    if (v0 >= u0) {
      cz[n0] = v0;
      cc[n0++] = c;
    }
    if (v1 >= u1) {
      cz[n1] = v1;
      cc[n1++] = c;
    }
    if (v2 >= u2) {
      cz[n2] = v2;
      cc[n2++] = c;
    }
    if (v3 >= u3) {
      cz[n3] = v3;
      cc[n3++] = c;
    }
    if (v4 >= u4) {
      cz[n4] = v4;
      cc[n4++] = c;
    }
    if (v5 >= u5) {
      cz[n5] = v5;
      cc[n5++] = c;
    }
    if (v6 >= u6) {
      cz[n6] = v6;
      cc[n6++] = c;
    }
    if (v7 >= u7) {
      cz[n7] = v7;
      cc[n7++] = c;
    }
  }
  counts[0] = n0;
  counts[1] = n1 - m;
  counts[2] = n2 - 2 * m;
  counts[3] = n3 - 3 * m;
  counts[4] = n4 - 4 * m;
  counts[5] = n5 - 5 * m;
  counts[6] = n6 - 6 * m;
  counts[7] = n7 - 7 * m;
  for (let l = 0; l < lanes; l++) {
    const base = l * m;
    const n = counts[l] < k ? allCandidates(z, l, m, base) : counts[l];
    out[at + l] = choose(base, n, k);
  }
}

/** Every cell of lane l as a candidate (the sampled threshold let fewer than k through). */
function allCandidates(z: Float64Array, l: number, m: number, base: number): number {
  for (let c = 0; c < m; c++) {
    candZ[base + c] = z[c * LANES + l];
    candC[base + c] = c;
  }
  return m;
}

/** From n ≥ k candidates at candZ/candC[base…] in ascending cell order (every other cell is below the k-th value). */
function choose(base: number, n: number, k: number): Int32Array {
  const cz = candZ;
  const cc = candC;
  const pk = pick;
  for (let t = 0; t < n; t++) pk[t] = cz[base + t];
  const kth = kthLargest(pk, k, n);
  const out = new Int32Array(k);
  // Usually exactly k cells reach the k-th value: they are the tag.
  let taken = 0;
  for (let t = base; t < base + n; t++) {
    if (cz[t] >= kth) {
      if (taken === k) return chooseTies(base, n, k, kth, out);
      out[taken++] = cc[t];
    }
  }
  return out;
}

/** More than k cells reach the k-th value: all above it, then the lowest tied cells. */
function chooseTies(base: number, n: number, k: number, kth: number, out: Int32Array): Int32Array {
  let above = 0;
  for (let t = base; t < base + n; t++) if (candZ[t] > kth) above++;
  let taken = 0;
  let tiesLeft = k - above;
  for (let t = base; t < base + n && taken < k; t++) {
    const v = candZ[t];
    if (v > kth) out[taken++] = candC[t];
    else if (v === kth && tiesLeft > 0) {
      out[taken++] = candC[t];
      tiesLeft--;
    }
  }
  return out;
}
