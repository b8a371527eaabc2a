// The few bytes of the WebAssembly binary format the SIMD kernels need: i32-parameter functions over one
// imported memory, and the instruction helpers they share.

export const I32 = 0x7f;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;

/** Prefix of the SIMD instructions (their sub-opcodes follow as LEB128). */
export const SIMD = 0xfd;
/** v128.const 0. */
export const V128_ZERO = [SIMD, 0x0c, ...new Array<number>(16).fill(0)];
export const get = (local: number): number[] => [0x20, local];
export const set = (local: number): number[] => [0x21, local];
export const tee = (local: number): number[] => [0x22, local];
/** i32.const c for any 32-bit pattern (unsigned values above 2³¹ − 1 wrap to their signed form). */
export const i32Const = (c: number): number[] => [0x41, ...sleb(c | 0)];
/** i32.load / i32.store at the address on the stack + offset, alignment hint 4 bytes. */
export const i32Load = (offset = 0): number[] => [0x28, 2, ...uleb(offset)];
export const i32Store = (offset = 0): number[] => [0x36, 2, ...uleb(offset)];
/** A SIMD instruction: the prefix, then its sub-opcode as LEB128. */
export const simd = (op: number): number[] => [SIMD, ...uleb(op)];
/** f64.load at the address on the stack + offset, alignment hint 8 bytes. */
export const f64Load = (offset = 0): number[] => [0x2b, 3, ...uleb(offset)];
/** The float64 lane operations the kernels share; promoteLow widens the two low float32 lanes exactly. */
export const F64X2 = { splat: simd(0x14), add: simd(0xf0), sub: simd(0xf1), mul: simd(0xf2), div: simd(0xf3), promoteLow: simd(0x5f) };
/** i8x16.shuffle copying the upper 8 bytes into both halves (the upper float32 pair, ready for promoteLow). */
export const UPPER_HALF = [SIMD, 0x0d, 8, 9, 10, 11, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15];
/** Structured control (empty block types), `select` and branches (their depth follows). */
export const BLOCK = [0x02, 0x40];
export const LOOP = [0x03, 0x40];
export const IF = [0x04, 0x40];
export const ELSE = 0x05;
export const END = 0x0b;
export const BR = 0x0c;
export const BR_IF = 0x0d;
export const SELECT = 0x1b;
/** v128.load / v128.store at the address on the stack (+ offset < 128 bytes), alignment hint 2^align bytes. */
export const v128Load = (align: number, offset = 0): number[] => [SIMD, 0x00, align, offset];
export const v128Store = (align: number, offset = 0): number[] => [SIMD, 0x0b, align, offset];
/** local += c (0 ≤ c < 64). */
export const addConst = (local: number, c: number): number[] => [...get(local), 0x41, c, 0x6a, ...set(local)];
/** local −= 1, then br_if depth while it is not 0. */
export const countDown = (local: number, depth: number): number[] => [...get(local), 0x41, 1, 0x6b, 0x22, local, 0x0d, depth];

/** `body` repeated while `counter` (a local) is not 0, counting it down after each pass; skipped when it starts at 0. */
export const loopWhile = (counter: number, body: number[]): number[] => [
  ...[0x02, 0x40, ...get(counter), 0x45, 0x0d, 0],
  ...[0x03, 0x40],
  ...body,
  ...countDown(counter, 0),
  0x0b, 0x0b,
];

/** Signed LEB128 (i32.const immediates). */
export function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const name = (s: string): number[] => [s.length, ...Array.from(s, (ch) => ch.charCodeAt(0))];

export interface KernelBody {
  readonly name: string;
  /** Local declarations (count, then count/type pairs). */
  readonly locals: number[];
  /** Instructions, ending with `end`. */
  readonly code: number[];
}

/** Pages a shared memory may grow to (wasm32's 4 GiB; shared memories reserve their maximum up front, virtually). */
export const SHARED_MAX_PAGES = 65536;

/**
 * A module importing env.mem (shared: limits flag 3 with the maximum, so threads can run its functions on one
 * memory) and exporting each body as `name(i32 × params)` with no result.
 */
function moduleBytes(params: number, bodies: readonly KernelBody[], shared: boolean): Uint8Array<ArrayBuffer> {
  const code = bodies.flatMap((b) => [...uleb(b.locals.length + b.code.length), ...b.locals, ...b.code]);
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, params, ...new Array<number>(params).fill(I32), 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, ...(shared ? [0x03, 1, ...uleb(SHARED_MAX_PAGES)] : [0x00, 1])]),
    ...section(3, [bodies.length, ...new Array<number>(bodies.length).fill(0)]),
    ...section(7, [bodies.length, ...bodies.flatMap((b, i) => [...name(b.name), 0x00, i])]),
    ...section(10, [bodies.length, ...code]),
  ]);
}

export interface WasmKernel<F> {
  readonly mem: WebAssembly.Memory;
  readonly fn: F;
}

/** Compiles and instantiates the module with a fresh one-page memory (throws where WebAssembly SIMD is missing). */
export function instantiateKernel<F>(fn: string, params: number, locals: number[], code: number[]): WasmKernel<F> {
  const { mem, fns } = instantiateKernels<F>(params, [{ name: fn, locals, code }]);
  return { mem, fn: fns[fn] };
}

/**
 * Several functions with the same i32 parameters over one fresh memory, or over `memory` (modules of different
 * signatures then work on the same data); `shared` makes it a shared memory (other threads instantiate the
 * returned module over it).
 */
export function instantiateKernels<F>(
  params: number,
  bodies: readonly KernelBody[],
  shared = false,
  memory?: WebAssembly.Memory,
): { mem: WebAssembly.Memory; module: WebAssembly.Module; fns: Record<string, F> } {
  const mem = memory ?? new WebAssembly.Memory(shared ? { initial: 1, maximum: SHARED_MAX_PAGES, shared: true } : { initial: 1 });
  const module = new WebAssembly.Module(moduleBytes(params, bodies, shared));
  const inst = new WebAssembly.Instance(module, { env: { mem } });
  return { mem, module, fns: Object.fromEntries(bodies.map((b) => [b.name, inst.exports[b.name] as F])) };
}

/** Grows the memory to at least `bytes` (views on its buffer must be re-taken afterwards). */
export function growTo(mem: WebAssembly.Memory, bytes: number): void {
  const need = Math.ceil(bytes / 65536) - mem.buffer.byteLength / 65536;
  if (need > 0) mem.grow(need);
}
