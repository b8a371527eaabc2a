// topKSplit for float32 scores in WebAssembly: one branchless pass collects the candidates at or above a
// threshold as order keys, and a stable LSD radix sort ranks them. At 2,880 scores the JavaScript candidate
// pass and comparison sort took ≈ 15 µs, more than the reference's whole top-k.

import { addConst, get, growTo, I32, i32Const, i32Load, i32Store, instantiateKernels, loopWhile, set, SIMD, simd, tee, V128, V128_ZERO, v128Load, v128Store } from './wasm-module.ts';

const [ADD, SUB, MUL, SHL, SHR_U, AND, GT_U] = [0x6a, 0x6b, 0x6c, 0x74, 0x76, 0x71, 0x4b];

/**
 * Order key of a float32 bit pattern u, ascending as the value descends: u ^ 0x7fffffff for u ≥ 0, u − 1 for
 * u < 0 (so −0 shares +0's key); NaN keys lie outside [key(+∞), key(−∞)].
 */
export function orderKey(u: number): number {
  return u >= 0x80000000 ? u - 1 : (u ^ 0x7fffffff) >>> 0;
}
const POS_INF_KEY = 0x7f800000 ^ 0x7fffffff;
const NEG_INF_KEY = 0xff800000 - 1;

const splatConst = (v: number): number[] => [SIMD, 0x0c, ...new Array<number>(4).fill(0).flatMap(() => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255])];
const [SWIZZLE, I32X4_LT_U, I32X4_GT_U, I32X4_LE_U, NOT, OR128, XOR, ANY_TRUE, BITMASK, SHR_S4, SHR_U4, ADD4, MIN_U4] = [
  0x0e, 0x3a, 0x3c, 0x3e, 0x4d, 0x50, 0x51, 0x53, 0xa4, 0xac, 0xad, 0xae, 0xb7,
].map(simd);
const POPCNT = 0x69;

/**
 * collect(scores, groups, thresh, keys, slots, meta, table): for groups of four scores, their order keys;
 * those ≤ thresh (value ≥ the threshold) are left-packed by the table's shuffles and appended to keys/slots
 * (slot = index, so in index order). meta: count, NaN seen, then the four lanes' minimum keys.
 */
function collectCode(): number[] {
  const [SCORES, GROUPS, THRESH, KEYS, SLOTS, META, TABLE] = [0, 1, 2, 3, 4, 5, 6];
  const [CB, M] = [7, 8];
  const [V, S, KEY, IDX, LO, FLAG, THR] = [9, 10, 11, 12, 13, 14, 15];
  const shuffle = [...get(TABLE), ...get(M), ...i32Const(4), SHL, ADD, ...v128Load(4)];
  const lanes = [SIMD, 0x0c, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0];
  return [
    ...get(THRESH), ...simd(0x11), ...set(THR),
    ...splatConst(-1), ...set(LO),
    ...lanes, ...set(IDX),
    ...loopWhile(GROUPS, [
      ...get(SCORES), ...v128Load(2), ...tee(V),
      ...i32Const(31), ...SHR_S4, ...set(S),
      ...get(V), ...get(S), ...NOT, ...i32Const(1), ...SHR_U4, ...XOR, ...get(S), ...ADD4, ...tee(KEY),
      ...splatConst(POS_INF_KEY), ...I32X4_LT_U,
      ...get(KEY), ...splatConst(NEG_INF_KEY), ...I32X4_GT_U, ...OR128, ...get(FLAG), ...OR128, ...set(FLAG),
      ...get(LO), ...get(KEY), ...MIN_U4, ...set(LO),
      ...get(KEY), ...get(THR), ...I32X4_LE_U, ...BITMASK, ...set(M),
      ...get(KEYS), ...get(CB), ADD, ...get(KEY), ...shuffle, ...SWIZZLE, ...v128Store(0),
      ...get(SLOTS), ...get(CB), ADD, ...get(IDX), ...shuffle, ...SWIZZLE, ...v128Store(0),
      ...get(CB), ...get(M), POPCNT, ...i32Const(2), SHL, ADD, ...set(CB),
      ...get(IDX), ...splatConst(4), ...ADD4, ...set(IDX),
      ...addConst(SCORES, 16),
    ]),
    ...get(META), ...get(CB), ...i32Const(2), SHR_U, ...i32Store(),
    ...get(META), ...get(FLAG), ...ANY_TRUE, ...i32Store(4),
    ...get(META), ...get(LO), ...v128Store(2, 16),
    0x0b,
  ];
}

/** The left-pack shuffles: entry m moves the lanes set in m (ascending) to the front. */
function packTable(): Uint8Array {
  const table = new Uint8Array(256).fill(0x80);
  for (let m = 0; m < 16; m++) {
    let j = 0;
    for (let lane = 0; lane < 4; lane++) {
      if (!((m >> lane) & 1)) continue;
      for (let b = 0; b < 4; b++) table[m * 16 + j * 4 + b] = lane * 4 + b;
      j++;
    }
  }
  return table;
}

/**
 * histograms(keys, count, hist, width, passes): histograms of the keys' first `passes` digits of `width`
 * bits (2^width counts each), turned into starting places in bytes.
 */
function histogramsCode(): number[] {
  const [KEYS, COUNT, HIST, WIDTH, PASSES] = [0, 1, 2, 3, 4];
  const [C, P, K, D, S, T, M, B, Q] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
  const bump = (digit: number): number[] => [
    ...get(HIST), ...(digit > 0 ? [...get(B), ...i32Const(digit), MUL, ADD] : []),
    ...get(K), ...(digit > 0 ? [...get(WIDTH), ...i32Const(digit), MUL, SHR_U] : []), ...get(M), AND, ...i32Const(2), SHL, ADD, ...tee(D),
    ...get(D), ...i32Load(), ...i32Const(1), ADD, ...i32Store(),
  ];
  const pow = [...i32Const(1), ...get(WIDTH), SHL];
  return [
    ...pow, ...i32Const(1), SUB, ...set(M),
    ...i32Const(4), ...get(WIDTH), SHL, ...set(B),
    ...get(HIST), ...set(P), ...pow, ...set(C),
    ...loopWhile(C, [...get(P), ...V128_ZERO, ...v128Store(2), ...addConst(P, 16)]),
    ...get(KEYS), ...set(P), ...get(COUNT), ...set(C),
    ...loopWhile(C, [
      ...get(P), ...i32Load(), ...set(K), ...bump(0),
      // Digits past the last pass are not counted (a branch the same way for every key).
      ...[1, 2, 3].flatMap((digit) => [...get(PASSES), ...i32Const(digit), GT_U, 0x04, 0x40, ...bump(digit), 0x0b]),
      ...addConst(P, 4),
    ]),
    ...get(HIST), ...set(P), ...get(PASSES), ...set(Q),
    ...loopWhile(Q, [
      ...i32Const(0), ...set(S), ...pow, ...set(C),
      ...loopWhile(C, [...get(P), ...i32Load(), ...set(T), ...get(P), ...get(S), ...i32Store(), ...get(S), ...get(T), ...i32Const(2), SHL, ADD, ...set(S), ...addConst(P, 4)]),
    ]),
    0x0b,
  ];
}

/**
 * scatter(keys, slots, keys2, slots2, places, count, digit): one stable pass on the digit at bit `digit & 255`,
 * `digit >> 8` bits wide, places in bytes.
 */
function scatterCode(): number[] {
  const [KEYS, SLOTS, KEYS2, SLOTS2, PLACES, COUNT, DIGIT] = [0, 1, 2, 3, 4, 5, 6];
  const [C, P, K, D, T, SH, M] = [7, 8, 9, 10, 11, 12, 13];
  return [
    ...get(DIGIT), ...i32Const(255), AND, ...set(SH),
    ...i32Const(1), ...get(DIGIT), ...i32Const(8), SHR_U, SHL, ...i32Const(1), SUB, ...set(M),
    ...get(COUNT), ...set(C),
    ...loopWhile(C, [
      ...get(KEYS), ...get(P), ADD, ...i32Load(), ...tee(K), ...get(SH), SHR_U, ...get(M), AND, ...i32Const(2), SHL, ...get(PLACES), ADD, ...tee(D),
      ...get(D), ...i32Load(), ...tee(T), ...i32Const(4), ADD, ...i32Store(),
      ...get(KEYS2), ...get(T), ADD, ...get(K), ...i32Store(),
      ...get(SLOTS2), ...get(T), ADD, ...get(SLOTS), ...get(P), ADD, ...i32Load(), ...i32Store(),
      ...addConst(P, 4),
    ]),
    0x0b,
  ];
}

type Fn = (a: number, b: number, c: number, d: number, e: number, f: number, g: number) => void;

/** Widest radix digit: four histograms of 2^10 counts fill HIST_AT .. META_AT. */
const MAX_DIGIT_BITS = 10;
const HIST_AT = 0;
const META_AT = 16 << MAX_DIGIT_BITS;
const TABLE_AT = META_AT + 32;
const SCORES_AT = TABLE_AT + 256;
const bits32 = new Float32Array(1);
const bitsU32 = new Uint32Array(bits32.buffer);

/** Longest score row staged (28 bytes a score stay in the module's memory, which cannot shrink): 28 MB. */
export const MAX_SCORES = 1 << 20;

/** Candidates admitted beyond `want` before the JavaScript path (which narrows them first) is preferred. */
const maxCandidates = (want: number): number => 2 * want + 64;

export class Float32TopK {
  private constructor(private readonly k: { mem: WebAssembly.Memory; collect: Fn; histograms: Fn; scatter: Fn }) {}

  private static cached: Float32TopK | null | undefined;

  /** The shared kernels, or null where WebAssembly SIMD is unavailable. */
  static load(): Float32TopK | null {
    if (Float32TopK.cached === undefined) {
      try {
        const made = instantiateKernels<Fn>(7, [
          { name: 'collect', locals: [2, 2, I32, 7, V128], code: collectCode() },
          { name: 'histograms', locals: [1, 9, I32], code: histogramsCode() },
          { name: 'scatter', locals: [1, 7, I32], code: scatterCode() },
        ]);
        new Uint8Array(made.mem.buffer, TABLE_AT, 256).set(packTable());
        Float32TopK.cached = new Float32TopK({ mem: made.mem, ...(made.fns as Record<'collect' | 'histograms' | 'scatter', Fn>) });
      } catch {
        Float32TopK.cached = null;
      }
    }
    return Float32TopK.cached;
  }

  /**
   * The top `want` indices by (score desc, index asc), in that order and ascending, given a threshold t (a
   * float32 value) that at least `want` scores reach; null when a score is NaN, t admits fewer than `want`
   * or more than 2·want + 64 candidates, or the row is longer than MAX_SCORES (topKSplit's JavaScript path
   * handles those).
   */
  select(scores: Float32Array, want: number, t: number): { order: number[]; ascending: number[] } | null {
    const n = scores.length;
    if (n > MAX_SCORES) return null;
    bits32[0] = t;
    const thresh = orderKey(bitsU32[0]);
    // Scores are padded to a whole group with −∞, which must stay below the threshold.
    if (thresh >= NEG_INF_KEY) return null;
    const groups = Math.ceil(n / 4);
    const l = this.layoutFor(groups);
    l.staged.set(scores);
    l.staged.fill(-Infinity, n, 4 * groups);
    this.k.collect(SCORES_AT, groups, thresh | 0, l.at[0], l.at[1], META_AT, TABLE_AT);
    const count = l.meta[0];
    if (l.meta[1] !== 0 || count < want || count > maxCandidates(want)) return null;
    const lo = Math.min(l.meta[4], l.meta[5], l.meta[6], l.meta[7]);
    // Candidate keys lie in [min key, thresh]: only the bytes below their highest differing bit vary.
    const varying = 32 - Math.clz32((lo ^ thresh) >>> 0);
    let from = 0;
    if (varying > 0) {
      // As few passes as digits of at most MAX_DIGIT_BITS allow, the bits shared out evenly.
      const passes = Math.ceil(varying / MAX_DIGIT_BITS);
      const width = Math.ceil(varying / passes);
      this.k.histograms(l.at[0], count, HIST_AT, width, passes, 0, 0);
      let to = 1;
      for (let p = 0; p < passes; p++) {
        this.k.scatter(l.at[2 * from], l.at[2 * from + 1], l.at[2 * to], l.at[2 * to + 1], HIST_AT + p * (4 << width), count, (p * width) | (width << 8));
        from = to;
        to = to === 1 ? 2 : 1;
      }
    }
    const sortedKeys = l.keys[from];
    const sortedSlots = l.slots[from];
    const order = new Array<number>(want);
    for (let m = 0; m < want; m++) order[m] = sortedSlots[m];
    // Winners in index order: keys below the last winner's, then as many of its ties as made the cut (lower index first).
    const last = sortedKeys[want - 1];
    let firstTie = want - 1;
    while (firstTie > 0 && sortedKeys[firstTie - 1] === last) firstTie--;
    let ties = want - firstTie;
    const keys = l.keys[0];
    const slots = l.slots[0];
    const ascending = new Array<number>(want);
    for (let c = 0, m = 0; c < count && m < want; c++) {
      const key = keys[c];
      if (key < last || (key === last && ties-- > 0)) ascending[m++] = slots[c];
    }
    return { order, ascending };
  }

  private layout: Layout | null = null;

  /** Buffers for `groups` groups of scores: views are kept until the memory grows. */
  private layoutFor(groups: number): Layout {
    const old = this.layout;
    if (old && old.groups >= groups && old.buffer === this.k.mem.buffer) return old;
    const g = Math.max(groups, old ? old.groups : 0);
    const entries = 4 * g + 4; // a left-packed store writes four lanes past the count
    // Candidate keys and slots as collected, then two pairs the radix passes alternate between.
    const at = [0, 1, 2, 3, 4, 5].map((b) => SCORES_AT + 16 * g + 4 * b * entries);
    growTo(this.k.mem, at[5] + 4 * entries);
    const buffer = this.k.mem.buffer;
    this.layout = {
      buffer,
      groups: g,
      at,
      staged: new Float32Array(buffer, SCORES_AT, 4 * g),
      meta: new Uint32Array(buffer, META_AT, 8),
      keys: [0, 1, 2].map((p) => new Uint32Array(buffer, at[2 * p], entries)),
      slots: [0, 1, 2].map((p) => new Int32Array(buffer, at[2 * p + 1], entries)),
    };
    return this.layout;
  }
}

interface Layout {
  readonly buffer: ArrayBuffer;
  readonly groups: number;
  /** Byte offsets of keys, slots (as collected), then the two radix pairs. */
  readonly at: number[];
  readonly staged: Float32Array;
  readonly meta: Uint32Array;
  readonly keys: Uint32Array[];
  readonly slots: Int32Array[];
}
