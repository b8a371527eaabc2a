// F³A Stage 0 (§4.3 [PROPOSED]): centring, frozen sparse sensing heads, winner-take-all tags, odour map.
import type { Matrix } from '../../bundle/tensor.ts';
import { mulberry32 } from '../../numeric/prng.ts';
import { roundHalfUp } from '../../numeric/rounding.ts';
import { kernelPlan } from '../../numeric/gemm.ts';
import { loadOrtGemm } from '../../numeric/ort-gemm.ts';
import { dot, unit } from './npsum.ts';

export const HEADS = 4;
/** Token count × cells × width from which tags come from a GEMM instead of the sparse gather. */
export const TAG_GEMM_MACS = 1 << 24;
export const SEED = 1234;

export type SensingMode = 'sparse' | 'dense' | 'no-cue';

export interface WtaShape {
  /** Kenyon cells per head. */
  readonly m: number;
  /** Input coordinates summed by each cell. */
  readonly s: number;
  /** Winners kept per tag. */
  readonly k: number;
}

export interface Sensing {
  readonly mode: SensingMode;
  /** Final odour o ∈ [0,1]^N. */
  readonly odour: Float64Array;
  /** Odour before min–max normalisation. */
  readonly raw: Float64Array;
  /** Per-head odour maps o_h (sparse: one per head; dense / no-cue: the single map). */
  readonly perHead: Float64Array[];
  /** Best-matching cue per token (−1 without cues). */
  readonly argmaxCue: Int32Array;
  /** Centred, unit-length tokens ṽ (N×d, row-major): stages 3–4 use ṽ·ṽ. */
  readonly centred: Float64Array;
  readonly wta: WtaShape | null;
}

export function wtaShape(d: number): WtaShape {
  const m = Math.min(2048, 8 * d);
  return { m, s: Math.max(2, Math.min(16, roundHalfUp(0.125 * d))), k: Math.ceil(0.05 * m) };
}

function rowOf(x: Matrix, i: number): Float64Array {
  return Float64Array.from(x.data.subarray(i * x.cols, (i + 1) * x.cols));
}

/** Column mean over rows, rows added in order (NumPy's axis-0 reduction). */
function columnMean(rows: Float64Array[], d: number): Float64Array {
  const mu = new Float64Array(d);
  for (const r of rows) for (let k = 0; k < d; k++) mu[k] += r[k];
  for (let k = 0; k < d; k++) mu[k] /= rows.length;
  return mu;
}

function centreAll(rows: Float64Array[], mu: Float64Array): Float64Array[] {
  return rows.map((r) => unit(r.map((v, k) => v - mu[k])));
}

function flatten(rows: Float64Array[], d: number): Float64Array {
  const out = new Float64Array(rows.length * d);
  rows.forEach((r, i) => out.set(r, i * d));
  return out;
}

/** Frozen head h: m cells of s distinct coordinates, drawn in order from mulberry32(seed + h), duplicates skipped. */
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

/** The k-th largest value (1-based) by in-place quickselect; `a` is scrambled. */
function kthLargest(a: Float64Array, k: number): number {
  const target = a.length - k;
  let lo = 0;
  let hi = a.length - 1;
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

/** Work buffers for `tag` (reused across the tokens of one run). */
export interface TagScratch {
  readonly z: Float64Array;
  readonly work: Float64Array;
}

export function tagScratch(shape: WtaShape): TagScratch {
  return { z: new Float64Array(shape.m), work: new Float64Array(shape.m) };
}

/** WTA tag: the k cells with the largest z (ties: lower cell first), ascending cell ids. */
export function tag(x: Float64Array, wires: Int32Array, shape: WtaShape, scratch: TagScratch = tagScratch(shape)): Int32Array {
  cellSums([x], wires, shape, [scratch.z]);
  return winners(scratch.z, shape, scratch.work);
}

/** Tags of many vectors, four per pass over the wiring (see cellSums). */
export function tagAll(xs: readonly Float64Array[], wires: Int32Array, shape: WtaShape): Int32Array[] {
  const zs = [0, 1, 2, 3].map(() => new Float64Array(shape.m));
  const work = new Float64Array(shape.m);
  const out: Int32Array[] = [];
  for (let i = 0; i < xs.length; i += 4) {
    const group = xs.slice(i, i + 4);
    cellSums(group, wires, shape, zs);
    for (let g = 0; g < group.length; g++) out.push(winners(zs[g], shape, work));
  }
  return out;
}

/**
 * z_c = Σ_{j ∈ W[c]} x_j for up to four vectors: every sum starts at 0 and adds its s inputs in sampling
 * order (the pinned reading), but each wiring index is loaded once for all four vectors and the four sums
 * are independent, which hides the add latency.
 */
function cellSums(xs: readonly Float64Array[], wires: Int32Array, shape: WtaShape, zs: Float64Array[]): void {
  const { m, s } = shape;
  if (xs.length === 4) {
    const [x0, x1, x2, x3] = xs;
    const [z0, z1, z2, z3] = zs;
    for (let c = 0; c < m; c++) {
      const o = c * s;
      let a0 = 0;
      let a1 = 0;
      let a2 = 0;
      let a3 = 0;
      for (let t = 0; t < s; t++) {
        const w = wires[o + t];
        a0 += x0[w];
        a1 += x1[w];
        a2 += x2[w];
        a3 += x3[w];
      }
      z0[c] = a0;
      z1[c] = a1;
      z2[c] = a2;
      z3[c] = a3;
    }
    return;
  }
  xs.forEach((x, g) => {
    const z = zs[g];
    for (let c = 0; c < m; c++) {
      let acc = 0;
      for (let t = 0; t < s; t++) acc += x[wires[c * s + t]];
      z[c] = acc;
    }
  });
}

/** Dense float32 wiring matrices W [m, d] (1 where a cell sums a coordinate), memoised with the wiring. */
const denseWiring = new Map<Int32Array, Float32Array>();

function wiringMatrix(wires: Int32Array, shape: WtaShape, d: number): Float32Array {
  let w = denseWiring.get(wires);
  if (!w) {
    w = new Float32Array(shape.m * d);
    for (let c = 0; c < shape.m; c++) for (let t = 0; t < shape.s; t++) w[c * d + wires[c * shape.s + t]] = 1;
    denseWiring.set(wires, w);
  }
  return w;
}

/** Extra TopK entries fetched beyond k, so the band around the k-th value is usually fully visible. */
const TOP_MARGIN = 16;

/**
 * Tags of many vectors from onnxruntime (Z = X·Wᵀ in float32, then TopK per row), identical to tagAll: a
 * cell sum carries at most s roundings of its s ≤ 16 nonzero terms (every other product is an exact zero),
 * so |z₃₂ − z| ≤ 80u·‖x‖ (Σ_{j∈W_c}|x_j| ≤ 4‖x‖). Cells within twice that of the k-th value are summed
 * again in float64 in sampling order and chosen exactly as `winners` does; a row whose band reaches past
 * the fetched entries is tagged by the exact gather. Returns null when onnxruntime is not available.
 */
export function tagAllOrt(xs: readonly Float64Array[], wires: Int32Array, shape: WtaShape, d: number): Int32Array[] | null {
  const { m, s, k } = shape;
  const ort = kernelPlan(xs.length * m * d).backend === 'ort' ? loadOrtGemm() : null;
  if (!ort || s > 16) return null;
  const w = wiringMatrix(wires, shape, d);
  const top = Math.min(m, k + TOP_MARGIN);
  const blockRows = Math.max(1, Math.min(xs.length, 512));
  const x32 = new Float32Array(blockRows * d);
  const out: Int32Array[] = [];
  const u = 2 ** -24;
  const scratch = tagScratch(shape);
  for (let r0 = 0; r0 < xs.length; r0 += blockRows) {
    const rows = Math.min(blockRows, xs.length - r0);
    for (let r = 0; r < rows; r++) x32.set(xs[r0 + r], r * d);
    const res = ort.topNT(x32.subarray(0, rows * d), rows, w, m, d, top);
    for (let r = 0; r < rows; r++) {
      const x = xs[r0 + r];
      const vals = res.values.subarray(r * top, (r + 1) * top);
      const cells = res.indices.subarray(r * top, (r + 1) * top);
      let sq = 0;
      for (let j = 0; j < d; j++) sq += x[j] * x[j];
      const eps = 80 * u * Math.sqrt(sq);
      const kth = vals[k - 1];
      if (top < m && vals[top - 1] >= kth - 2 * eps) {
        out.push(tag(x, wires, shape, scratch));
        continue;
      }
      const tagged: number[] = [];
      const band: number[] = [];
      for (let t = 0; t < top; t++) {
        if (vals[t] > kth + 2 * eps) tagged.push(cells[t]);
        else if (vals[t] >= kth - 2 * eps) band.push(cells[t]);
      }
      if (tagged.length + band.length > k) {
        // Settle the band on the exact sums (sampling order), then take its best by (z desc, cell asc).
        const exact = new Map<number, number>();
        for (const c of band) {
          let acc = 0;
          for (let t = 0; t < s; t++) acc += x[wires[c * s + t]];
          exact.set(c, acc);
        }
        band.sort((a, b) => {
          const ea = exact.get(a) as number;
          const eb = exact.get(b) as number;
          return ea !== eb ? (eb > ea ? 1 : -1) : a - b;
        });
        tagged.push(...band.slice(0, k - tagged.length));
      } else tagged.push(...band);
      out.push(Int32Array.from(tagged).sort());
    }
  }
  return out;
}

/** The k cells with the largest z (ties: lower cell first), ascending; `work` is scratch of length m. */
function winners(z: Float64Array, shape: WtaShape, work: Float64Array): Int32Array {
  const { m, k } = shape;
  work.set(z);
  const kth = kthLargest(work, k);
  let above = 0;
  for (let c = 0; c < m; c++) if (z[c] > kth) above++;
  const out = new Int32Array(k);
  let taken = 0;
  let tiesLeft = k - above;
  for (let c = 0; c < m; c++) {
    if (z[c] > kth) out[taken++] = c;
    else if (z[c] === kth && tiesLeft > 0) {
      out[taken++] = c;
      tiesLeft--;
    }
  }
  return out;
}

/** For each cell, the cues whose tag contains it (turns overlap counting into a sparse walk). */
function cuesByCell(cueTags: Int32Array[], m: number): number[][] {
  const byCell: number[][] = Array.from({ length: m }, () => []);
  cueTags.forEach((t, u) => t.forEach((c) => byCell[c].push(u)));
  return byCell;
}

/** Min–max to [0,1]; a constant map becomes 0.5 everywhere. */
export function minMax(x: Float64Array): Float64Array {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const range = hi - lo;
  return range === 0 ? new Float64Array(x.length).fill(0.5) : x.map((v) => (v - lo) / range);
}

/** Stage 0. `cue` null (or with no rows) selects the no-cue branch (§4.3 step 5). */
export function sense(V: Matrix, cue: Matrix | null, dense: boolean): Sensing {
  const n = V.rows;
  const d = V.cols;
  const vRows = Array.from({ length: n }, (_, i) => rowOf(V, i));
  const mu = columnMean(vRows, d);
  const vt = centreAll(vRows, mu);
  const centred = flatten(vt, d);
  const argmaxCue = new Int32Array(n).fill(-1);

  if (!cue || cue.rows === 0) {
    // Text-agnostic distinctiveness: −x̂_i · normalize(mean_j x̂_j).
    const xh = vRows.map(unit);
    const dir = unit(columnMean(xh, d));
    const raw = Float64Array.from(xh, (x) => -dot(x, 0, dir, 0, d));
    return { mode: 'no-cue', odour: minMax(raw), raw, perHead: [raw], argmaxCue, centred, wta: null };
  }

  const qt = centreAll(
    Array.from({ length: cue.rows }, (_, u) => rowOf(cue, u)),
    mu,
  );

  if (dense) {
    // §4.3 step 6: o_i = max_u cos(q̃_u, ṽ_i) (identical for every head).
    const raw = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let best = -Infinity;
      qt.forEach((q, u) => {
        const c = dot(q, 0, vt[i], 0, d);
        if (c > best) {
          best = c;
          argmaxCue[i] = u;
        }
      });
      raw[i] = best;
    }
    return { mode: 'dense', odour: minMax(raw), raw, perHead: [raw], argmaxCue, centred, wta: null };
  }

  const shape = wtaShape(d);
  const M = qt.length;
  const acc = new Float64Array(n);
  const cueVotes = new Int32Array(n * M);
  const perHead: Float64Array[] = [];
  const counts = new Int32Array(M);
  for (let h = 0; h < HEADS; h++) {
    const wires = headWiring(h, d, shape);
    // Large inputs: tags from onnxruntime (float32 GEMM + TopK), settled exactly near the WTA threshold.
    const tags = (xs: Float64Array[]): Int32Array[] => (n * shape.m * d >= TAG_GEMM_MACS ? tagAllOrt(xs, wires, shape, d) : null) ?? tagAll(xs, wires, shape);
    const byCell = cuesByCell(tags(qt), shape.m);
    const tokenTags = tags(vt);
    const oh = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      counts.fill(0);
      for (const c of tokenTags[i]) for (const u of byCell[c]) counts[u]++;
      let best = 0;
      for (let u = 0; u < M; u++) {
        cueVotes[i * M + u] += counts[u];
        if (counts[u] > best) best = counts[u];
      }
      // max_u |T(q̃_u) ∩ T(ṽ_i)| / k, then added head by head (the pinned order).
      oh[i] = best / shape.k;
      acc[i] += oh[i];
    }
    perHead.push(oh);
  }
  const raw = acc.map((v) => v / HEADS);
  for (let i = 0; i < n; i++) {
    let best = -1;
    for (let u = 0; u < M; u++) {
      if (cueVotes[i * M + u] > best) {
        best = cueVotes[i * M + u];
        argmaxCue[i] = u;
      }
    }
  }
  return { mode: 'sparse', odour: minMax(raw), raw, perHead, argmaxCue, centred, wta: shape };
}
