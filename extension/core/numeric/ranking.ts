import { rankDescending } from '../../shared/ranking.ts';
import { Float32TopK } from './topk-wasm.ts';

// The order itself lives in extension/shared/ (the webview re-ranks with it too); re-exported for the core.
export { rankDescending, ranksFromOrder, ranksOf } from '../../shared/ranking.ts';

/** Indices sorted by (score asc, index asc). */
export function rankAscending(scores: ArrayLike<number>): number[] {
  const neg = Array.from(scores, (s) => -s);
  return rankDescending(neg);
}

/** topKSplit's work buffers, reused across calls (it calls nothing that could re-enter it). */
const scratch: { cand: Int32Array; work: Float64Array; won: Uint8Array } = { cand: new Int32Array(0), work: new Float64Array(0), won: new Uint8Array(0) };
const grownI32 = (a: Int32Array, n: number): Int32Array => (a.length >= n ? a : new Int32Array(Math.max(n, 2 * a.length)));
const grownF64 = (a: Float64Array, n: number): Float64Array => (a.length >= n ? a : new Float64Array(Math.max(n, 2 * a.length)));
const grownU8 = (a: Uint8Array, n: number): Uint8Array => (a.length >= n ? a : new Uint8Array(Math.max(n, 2 * a.length)));

/** The top k indices by (score desc, index asc), returned in that order (see topKSplit). */
export function topK(scores: ArrayLike<number>, k: number): number[] {
  return topKSplit(scores, k).order;
}

/**
 * topK's winners twice: `order` (score desc, index asc) and `ascending` (index order, as a kept set).
 *
 * A threshold t with at least k scores ≥ t is guessed from a strided sample (checked; else the exact k-th
 * largest by quickselect), so only the candidates ≥ t — typically ≈ 1.4·k — are sorted; a guess that
 * admits too many is narrowed to the k-th largest among its candidates. A candidate's
 * place is the number of larger candidate values (binary search in the sorted values) plus the equal ones
 * met before it in index order, so ties go to the lower index and no comparator sort runs. Float32 scores
 * (FastV's attention rows) take WebAssembly candidates and a radix sort (topk-wasm.ts) when the guess fits it.
 */
export function topKSplit(scores: ArrayLike<number>, k: number): { order: number[]; ascending: number[] } {
  const n = scores.length;
  const want = Math.max(0, Math.min(k, n));
  if (want === 0) return { order: [], ascending: [] };
  if (want === n || n < 64) return ranked(scores, want);
  const guess = sampledThreshold(scores, want);
  if (scores instanceof Float32Array) {
    const fast = Float32TopK.load()?.select(scores, want, guess);
    if (fast) return fast;
  }
  const cand = (scratch.cand = grownI32(scratch.cand, n));
  let count = scores instanceof Float32Array ? candidatesAtLeast32(scores, guess, cand) : candidatesAtLeast(scores, guess, cand);
  if (count < 0) return ranked(scores, want); // NaN: the comparator order puts it last
  if (count < want) {
    const work = (scratch.work = grownF64(scratch.work, n));
    for (let i = 0; i < n; i++) work[i] = scores[i];
    count = candidatesAtLeast(scores, kthLargest(work, want, n), cand);
  } else if (count > 2 * want + 64) {
    // Too loose a guess: the candidates hold every winner, so their k-th largest is the k-th overall.
    const work = (scratch.work = grownF64(scratch.work, count));
    for (let c = 0; c < count; c++) work[c] = scores[cand[c]];
    const kth = kthLargest(work, want, count);
    let kept = 0;
    for (let c = 0; c < count; c++) if (scores[cand[c]] >= kth) cand[kept++] = cand[c];
    count = kept;
  }
  if (scores instanceof Float32Array && n <= KEY_INDEX) return splitByKeys(scores, cand, count, want);
  const values = new Float64Array(count);
  for (let c = 0; c < count; c++) values[c] = scores[cand[c]];
  sortNumbers(values, 0, count - 1);
  const used = new Int32Array(count + 1);
  const order = new Array<number>(want);
  const ascending = new Array<number>(want);
  let kept = 0;
  for (let c = 0; c < count && kept < want; c++) {
    const i = cand[c];
    const v = scores[i];
    // Upper bound of v: every candidate after it is larger.
    let lo = 0;
    let hi = count;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (values[mid] > v) hi = mid;
      else lo = mid + 1;
    }
    const place = count - lo + used[lo]++;
    if (place < want) {
      order[place] = i;
      ascending[kept++] = i;
    }
  }
  return { order, ascending };
}

const KEY_INDEX = 2 ** 21;
const bits32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bits32.buffer);

/**
 * Float32 scores: each candidate as one exact float64 key, (descending rank of its bit pattern)·2²¹ + its
 * slot (candidates are in index order), so sorting the k smallest keys gives the (score desc,
 * index asc) order; −0 counts as +0.
 */
function splitByKeys(scores: Float32Array, cand: Int32Array, count: number, want: number): { order: number[]; ascending: number[] } {
  const keys = (scratch.work = grownF64(scratch.work, count));
  for (let c = 0; c < count; c++) {
    bits32[0] = scores[cand[c]] + 0; // −0 + 0 = +0
    const u = bitsU32[0];
    // Unsigned bit patterns that grow with the value, flipped so that larger values get smaller keys.
    const rising = u >= 0x80000000 ? 0xffffffff - u : u + 0x80000000;
    keys[c] = (0xffffffff - rising) * KEY_INDEX + c;
  }
  // The `want` smallest keys to the front (quickselect leaves them there), then sorted.
  if (count > want) kthLargest(keys, count - want + 1, count);
  sortNumbers(keys, 0, want - 1);
  const order = new Array<number>(want);
  const won = (scratch.won = grownU8(scratch.won, count)).fill(0, 0, count);
  for (let m = 0; m < want; m++) {
    const key = keys[m];
    const c = key - Math.floor(key / KEY_INDEX) * KEY_INDEX; // exact (power of two); `%` is a slow fmod
    order[m] = cand[c];
    won[c] = 1;
  }
  const ascending = new Array<number>(want);
  for (let c = 0, m = 0; c < count; c++) if (won[c]) ascending[m++] = cand[c];
  return { order, ascending };
}

/**
 * Ascending in-place sort of a[lo..hi] (no NaN): quicksort with a median-of-three pivot and insertion sort
 * for short runs, ≈ 1.5× faster than the native typed-array sort for the few hundred values sorted here.
 */
function sortNumbers(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const x = a[lo];
    const y = a[(lo + hi) >> 1];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
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
    // Recurse into the shorter side, loop on the longer (bounded stack depth).
    if (j - lo < hi - i) {
      sortNumbers(a, lo, j);
      lo = i;
    } else {
      sortNumbers(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

function ranked(scores: ArrayLike<number>, want: number): { order: number[]; ascending: number[] } {
  const order = rankDescending(scores).slice(0, want);
  return { order, ascending: sortedAscending(order) };
}

/** A value near the k-th largest from ≈ 128 strided samples, placed a little low so ≥ k scores reach it. */
function sampledThreshold(scores: ArrayLike<number>, want: number): number {
  const n = scores.length;
  const stride = Math.max(1, Math.floor(n / 128));
  const m = Math.ceil(n / stride);
  const sample = (scratch.work = grownF64(scratch.work, m));
  for (let j = 0; j < m; j++) sample[j] = scores[j * stride];
  return kthLargest(sample, Math.min(m, Math.ceil((want / n) * m * 1.3) + 6), m);
}

/**
 * candidatesAtLeast for float32 scores (FastV's attention rows): one element kind keeps this full pass's
 * loads monomorphic in a process that also ranks float64 scores through the generic copy.
 */
function candidatesAtLeast32(scores: Float32Array, t: number, out: Int32Array): number {
  let count = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (v >= t) out[count++] = i;
    else if (v !== v) return -1;
  }
  return count;
}

/** Indices with score ≥ t into `out` in index order; their count, or −1 when a score is NaN. */
function candidatesAtLeast(scores: ArrayLike<number>, t: number, out: Int32Array): number {
  let count = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i];
    if (v >= t) out[count++] = i;
    else if (v !== v) return -1;
  }
  return count;
}

/**
 * The k-th largest value (1-based) of a[0..len) by in-place quickselect; no NaN. The range is reordered so
 * that the entries after position len − k are ≥ it and those before are ≤ it (splitByKeys relies on it).
 */
export function kthLargest(a: Float64Array, k: number, len = a.length): number {
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

/** A plain array copy of a typed array (Array.from goes through the iterator protocol and is slow). */
export function toArray(a: ArrayLike<number>): number[] {
  if (a instanceof Float32Array) return float32ToArray(a);
  const out = doubles(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** toArray's float32 copy: one element kind per loop (float32 score rows such as FastV's attention). */
function float32ToArray(a: Float32Array): number[] {
  const out = doubles(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

/** Longest array `doubles` copies from a template (512 KB); longer ones are built element by element. */
const TEMPLATE_MAX = 1 << 16;
let template: number[] = [];

/**
 * A fresh array of n doubles (contents unspecified). Copying a double-element template is ≈ 1.7× faster at
 * 2,880 than growing `new Array(n)`, whose first float write converts its small-integer backing store.
 */
function doubles(n: number): number[] {
  if (n > TEMPLATE_MAX) return new Array<number>(n);
  // Array.from gives packed (hole-free) doubles: their copies take ≈ 20 % less than holey ones.
  if (template.length < n) template = Array.from({ length: Math.min(TEMPLATE_MAX, Math.max(n, 2 * template.length)) }, () => 0.5);
  return template.slice(0, n);
}

/** Token indices ascending (a native integer sort: several times faster than a comparator sort). */
export function sortedAscending(indices: Iterable<number>): number[] {
  let sorted: Int32Array;
  if (Array.isArray(indices)) {
    // Plain arrays are copied by index: Int32Array.from goes through the iterator protocol.
    const a = indices as readonly number[];
    sorted = new Int32Array(a.length);
    for (let i = 0; i < a.length; i++) sorted[i] = a[i];
  } else sorted = Int32Array.from(indices);
  sorted.sort();
  const out = new Array<number>(sorted.length);
  for (let i = 0; i < sorted.length; i++) out[i] = sorted[i];
  return out;
}

/**
 * First index of the maximum (PyTorch argmax semantics); -1 for an empty array. Skips NaN. With `from` and
 * `count`, of values[from, from + count), the index counted from `from`.
 */
export function argmax(values: ArrayLike<number>, from = 0, count = values.length - from): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < count; i++) {
    const v = values[from + i];
    if (v > bestValue || (best === -1 && v === bestValue)) {
      best = i;
      bestValue = v;
    }
  }
  return best;
}
