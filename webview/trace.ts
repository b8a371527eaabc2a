/**
 * Defensive readers for method outputs and traces. Method implementations evolve independently of the
 * webview, so every field is read as `unknown` and checked; a missing or malformed field yields null and
 * the view names what is missing instead of crashing.
 */

export type Rec = { [key: string]: unknown };

export const isRec = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);

/** First present field among `names`, looked up in each source in turn (entry fields, then trace). */
export function pick(sources: readonly unknown[], names: readonly string[]): unknown {
  for (const s of sources) {
    if (!isRec(s)) continue;
    for (const name of names) if (s[name] !== undefined && s[name] !== null) return s[name];
  }
  return undefined;
}

/** Numbers (null → NaN, as the oracle writes −∞/NaN) with an optional exact length. */
export function numArray(x: unknown, length?: number): Float64Array | null {
  if (!Array.isArray(x)) return null;
  if (length !== undefined && x.length !== length) return null;
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (typeof v === 'number') out[i] = v;
    else if (v === null) out[i] = NaN;
    else return null;
  }
  return out;
}

export function num(x: unknown): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

export function intArray(x: unknown): number[] | null {
  if (!Array.isArray(x)) return null;
  return x.every((v) => typeof v === 'number' && Number.isInteger(v)) ? (x as number[]) : null;
}

/** Rows of equal length `cols` (when given); a flat array of rows·cols is split. */
export function numRows(x: unknown, cols?: number): Float64Array[] | null {
  if (!Array.isArray(x) || x.length === 0) return null;
  if (Array.isArray(x[0])) {
    const rows: Float64Array[] = [];
    for (const r of x) {
      const a = numArray(r, cols);
      if (!a) return null;
      rows.push(a);
    }
    return rows;
  }
  if (cols && x.length % cols === 0) {
    const flat = numArray(x);
    if (!flat) return null;
    const rows: Float64Array[] = [];
    for (let k = 0; k < flat.length; k += cols) rows.push(flat.subarray(k, k + cols));
    return rows;
  }
  return null;
}

export interface EdgeList {
  src: Int32Array;
  dst: Int32Array;
  w: Float64Array;
}

const SRC = ['src', 'source', 'from', 'i', 'row', 'rows'];
const DST = ['dst', 'target', 'to', 'j', 'col', 'cols'];
const W = ['w', 'weight', 'weights', 'p', 'value', 'values', 'sim', 'cos'];

/**
 * Sparse edges in any of the shapes a method may emit: [[i,j,w],…], [{i,j,w},…] (or source/target/weight…),
 * or parallel arrays {src:[],dst:[],w:[]}. Edges outside [0,n) are dropped; a missing weight counts as 1.
 */
export function readEdges(x: unknown, n: number): EdgeList | null {
  const src: number[] = [];
  const dst: number[] = [];
  const w: number[] = [];
  const push = (a: unknown, b: unknown, c: unknown): void => {
    if (typeof a !== 'number' || typeof b !== 'number') return;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0 || a >= n || b >= n) return;
    src.push(a);
    dst.push(b);
    w.push(typeof c === 'number' && Number.isFinite(c) ? c : 1);
  };
  if (Array.isArray(x)) {
    for (const e of x) {
      if (Array.isArray(e)) push(e[0], e[1], e[2]);
      else if (isRec(e)) push(pick([e], SRC), pick([e], DST), pick([e], W));
    }
  } else if (isRec(x)) {
    const a = intArray(pick([x], SRC));
    const b = intArray(pick([x], DST));
    const c = numArray(pick([x], W));
    if (!a || !b || a.length !== b.length) return null;
    for (let k = 0; k < a.length; k++) push(a[k], b[k], c && c.length === a.length ? c[k] : undefined);
  } else return null;
  if (src.length === 0 && !(Array.isArray(x) && x.length === 0)) return null;
  return { src: Int32Array.from(src), dst: Int32Array.from(dst), w: Float64Array.from(w) };
}

export interface Trajectory {
  cell: number | null;
  /** (row, col) points in grid units. */
  points: [number, number][];
}

function readPoint(p: unknown): [number, number] | null {
  if (Array.isArray(p) && typeof p[0] === 'number' && typeof p[1] === 'number') return [p[0], p[1]];
  if (isRec(p)) {
    const r = pick([p], ['r', 'row', 'y']);
    const c = pick([p], ['c', 'col', 'x']);
    if (typeof r === 'number' && typeof c === 'number') return [r, c];
  }
  return null;
}

/** F³A mean-shift paths: [[[r,c],…],…] or [{cell, path|points|p: […]}, …]. */
export function readTrajectories(x: unknown): Trajectory[] | null {
  if (!Array.isArray(x)) return null;
  const out: Trajectory[] = [];
  x.forEach((t, k) => {
    let cell: number | null = k;
    let pts: unknown = t;
    if (isRec(t)) {
      const c = pick([t], ['cell', 'c', 'id']);
      cell = typeof c === 'number' ? c : null;
      pts = pick([t], ['path', 'points', 'p', 'trajectory', 'positions']);
    }
    if (!Array.isArray(pts)) return;
    const points = pts.map(readPoint).filter((p): p is [number, number] => p !== null);
    if (points.length > 0) out.push({ cell, points });
  });
  return out.length > 0 ? out : null;
}

export function describe(value: unknown): string {
  if (value === undefined || value === null) return 'absent';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return typeof value;
}
