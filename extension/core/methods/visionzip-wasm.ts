// VisionZip's key similarities as WebAssembly SIMD: every pool token with the targets (lanes = two targets,
// each summed over the key dimensions left to right, as keySimilarities sums it). Each lane does the scalar
// loop's operations in its order, so the results are bit-identical.

import { addConst, f64Load, F64X2, get, growTo, I32, instantiateKernels, loopWhile, set, UPPER_HALF, V128, V128_ZERO, v128Load, v128Store } from '../numeric/wasm-module.ts';

const { splat, mul, add, promoteLow } = F64X2;

const i32Add = 0x6a;
const i32Mul = 0x6c;

// Shared signature: (base, packed, list, count, out, width, pairs).
const [BASE, PACKED, LIST, COUNT, OUT, WIDTH, PAIRS] = [0, 1, 2, 3, 4, 5, 6];
const [JP, K, PA, PT, R0, R1, R2, R3, Q0, Q1, Q2, Q3] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18];
const [A0, A1, A2, A3, T, V] = [19, 20, 21, 22, 23, 24];
const TOKENS = 4;

/**
 * sims(kn, packed, list, count, out, dk, pairs): for each group of four listed token rows of kn (float64, dk
 * wide), their dots with every target pair (packed: pair-major, dk × 2 float64s) into out (per token,
 * 2·pairs float64s). The four tokens' chains interleave and share the target loads; count is in groups.
 */
function simsCode(): number[] {
  const rows = [R0, R1, R2, R3];
  const ptrs = [Q0, Q1, Q2, Q3];
  const accs = [A0, A1, A2, A3];
  return [
    ...loopWhile(COUNT, [
      // R_r = kn + list[r]·dk·8
      ...rows.flatMap((r, i) => [...get(BASE), ...get(LIST), ...[0x28, 2, 4 * i], ...get(WIDTH), i32Mul, 0x41, 3, 0x74, i32Add, ...set(r)]),
      ...get(PACKED), ...set(PT), ...get(PAIRS), ...set(JP),
      ...loopWhile(JP, [
        ...accs.flatMap((acc) => [...V128_ZERO, ...set(acc)]),
        ...rows.flatMap((r, i) => [...get(r), ...set(ptrs[i])]),
        ...get(WIDTH), ...set(K),
        ...loopWhile(K, [
          ...get(PT), ...v128Load(3), ...set(T),
          ...accs.flatMap((acc, i) => [...get(acc), ...get(ptrs[i]), ...f64Load(), ...splat, ...get(T), ...mul, ...add, ...set(acc), ...addConst(ptrs[i], 8)]),
          ...addConst(PT, 16),
        ]),
        // Token r's pair jp at out + (r·pairs + jp)·16.
        ...accs.flatMap((acc, i) => [...get(OUT), ...get(PAIRS), ...[0x41, i], i32Mul, 0x41, 4, 0x74, i32Add, ...get(acc), ...v128Store(3)]),
        ...addConst(OUT, 16),
      ]),
      // Past the other three tokens' rows of this group.
      ...get(OUT), ...get(PAIRS), 0x41, 3, i32Mul, 0x41, 4, 0x74, i32Add, ...set(OUT),
      ...addConst(LIST, 16),
    ]),
    0x0b,
  ];
}

/**
 * unit(keys, inv, _, rows, out, dk, _): out row r (float64) = keys row r (float32, dk wide, dk a multiple of 4)
 * · inv[r]: each element widened exactly and multiplied once, as the scalar loop does.
 */
function unitCode(): number[] {
  return [
    ...get(BASE), ...set(PA), ...get(OUT), ...set(PT),
    ...loopWhile(COUNT, [
      ...get(PACKED), ...f64Load(), ...splat, ...set(T), ...addConst(PACKED, 8),
      ...get(WIDTH), 0x41, 2, 0x76, ...set(K),
      ...loopWhile(K, [
        ...get(PA), ...v128Load(2), ...set(V),
        ...get(PT), ...get(V), ...promoteLow, ...get(T), ...mul, ...v128Store(3),
        ...get(PT), ...get(V), ...get(V), ...UPPER_HALF, ...promoteLow, ...get(T), ...mul, ...v128Store(3, 16),
        ...addConst(PA, 16), ...addConst(PT, 32),
      ]),
    ]),
    0x0b,
  ];
}

type Fn = (base: number, packed: number, list: number, count: number, out: number, width: number, pairs: number) => void;
let kernel: { mem: WebAssembly.Memory; sims: Fn; unit: Fn } | null | undefined;

function load(): typeof kernel {
  if (kernel === undefined) {
    try {
      const locals = [2, 12, I32, 6, V128];
      const made = instantiateKernels<Fn>(7, [
        { name: 'sims', locals, code: simsCode() },
        { name: 'unit', locals, code: unitCode() },
      ]);
      kernel = { mem: made.mem, sims: made.fns.sims, unit: made.fns.unit };
    } catch {
      kernel = null;
    }
  }
  return kernel;
}

/** Largest keys (and their unit rows) staged, in bytes: beyond it the TypeScript loop runs (the memory is kept). */
const MAX_BYTES = 64 << 20;

/**
 * 1 / max(‖x_r‖₂, eps) of every row, Σ x² summed left to right in float64 (as rowNorms sums it); four rows'
 * chains interleave, each in its own order.
 */
function invNorms32(x: Float32Array, n: number, dk: number, eps: number, out: Float64Array): void {
  let r = 0;
  for (; r + 4 <= n; r += 4) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    const b = r * dk;
    for (let k = 0; k < dk; k++) {
      const v0 = x[b + k];
      const v1 = x[b + dk + k];
      const v2 = x[b + 2 * dk + k];
      const v3 = x[b + 3 * dk + k];
      s0 += v0 * v0;
      s1 += v1 * v1;
      s2 += v2 * v2;
      s3 += v3 * v3;
    }
    out[r] = 1 / Math.max(Math.sqrt(s0), eps);
    out[r + 1] = 1 / Math.max(Math.sqrt(s1), eps);
    out[r + 2] = 1 / Math.max(Math.sqrt(s2), eps);
    out[r + 3] = 1 / Math.max(Math.sqrt(s3), eps);
  }
  for (; r < n; r++) {
    let s = 0;
    for (let k = r * dk; k < (r + 1) * dk; k++) s += x[k] * x[k];
    out[r] = 1 / Math.max(Math.sqrt(s), eps);
  }
}

/**
 * sims[i·c + j] = k̂[tokens[i]]·k̂[targets[j]] for all tokens at once, k̂ the float32 keys (n × dk) scaled to unit
 * norm in float64 (as normalizeRows scales them) and each dot summed left to right; null where WebAssembly
 * SIMD is unavailable, dk is not a multiple of 4 or the data is too large to stage.
 */
export function keySimilaritiesSimd(keys: Float32Array, n: number, dk: number, tokens: readonly number[], targets: readonly number[], eps = 1e-12): Float64Array | null {
  const c = targets.length;
  const pairs = (c + 1) >> 1;
  const keysBytes = n * dk * 4;
  const knBytes = n * dk * 8;
  const packedBytes = pairs * dk * 16;
  const padded = Math.ceil(tokens.length / TOKENS) * TOKENS;
  const listBytes = padded * 4;
  const outBytes = padded * pairs * 16;
  if (c === 0 || tokens.length === 0 || dk % 4 !== 0 || keysBytes + n * 8 + knBytes + packedBytes + listBytes + outBytes > MAX_BYTES) return null;
  const k = load();
  if (!k) return null;
  const keysAt = 64;
  const invAt = keysAt + keysBytes;
  const knAt = invAt + n * 8;
  const packedAt = knAt + knBytes;
  const listAt = packedAt + packedBytes;
  const outAt = (listAt + listBytes + 15) & ~15;
  growTo(k.mem, outAt + outBytes);
  const buf = k.mem.buffer;
  new Float32Array(buf, keysAt, n * dk).set(keys.subarray(0, n * dk));
  invNorms32(keys, n, dk, eps, new Float64Array(buf, invAt, n));
  k.unit(keysAt, invAt, 0, n, knAt, dk, 0);
  const kn = new Float64Array(buf, knAt, n * dk);
  const packed = new Float64Array(buf, packedAt, pairs * dk * 2);
  for (let jp = 0; jp < pairs; jp++) {
    const t0 = targets[2 * jp] * dk;
    // An odd last target is paired with itself; its duplicate lane is ignored.
    const t1 = targets[Math.min(c - 1, 2 * jp + 1)] * dk;
    for (let q = 0; q < dk; q++) {
      packed[(jp * dk + q) * 2] = kn[t0 + q];
      packed[(jp * dk + q) * 2 + 1] = kn[t1 + q];
    }
  }
  // The last group of four is filled up with the last token (its extra rows are ignored).
  const list = new Int32Array(buf, listAt, padded);
  for (let i = 0; i < padded; i++) list[i] = tokens[Math.min(i, tokens.length - 1)];
  k.sims(knAt, packedAt, listAt, padded / TOKENS, outAt, dk, pairs);
  const raw = new Float64Array(buf, outAt, padded * pairs * 2);
  const sims = new Float64Array(tokens.length * c);
  for (let i = 0; i < tokens.length; i++) for (let j = 0; j < c; j++) sims[i * c + j] = raw[i * pairs * 2 + j];
  return sims;
}
