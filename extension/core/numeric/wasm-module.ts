// The few bytes of the WebAssembly binary format the SIMD kernels need: one function over an imported memory.

export const I32 = 0x7f;
export const V128 = 0x7b;

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

/**
 * A module importing env.mem and exporting `fn(i32 × params)` with no result; `locals` are the local
 * declarations (count, then count/type pairs), `code` the instructions, ending with `end`.
 */
function moduleBytes(fn: string, params: number, locals: number[], code: number[]): Uint8Array<ArrayBuffer> {
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, params, ...new Array<number>(params).fill(I32), 0]),
    ...section(2, [1, ...name('env'), ...name('mem'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name(fn), 0x00, 0]),
    ...section(10, [1, ...uleb(locals.length + code.length), ...locals, ...code]),
  ]);
}

export interface WasmKernel<F> {
  readonly mem: WebAssembly.Memory;
  readonly fn: F;
}

/** Compiles and instantiates the module with a fresh one-page memory (throws where WebAssembly SIMD is missing). */
export function instantiateKernel<F>(fn: string, params: number, locals: number[], code: number[]): WasmKernel<F> {
  const mem = new WebAssembly.Memory({ initial: 1 });
  const inst = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(fn, params, locals, code)), { env: { mem } });
  return { mem, fn: inst.exports[fn] as F };
}

/** Grows the memory to at least `bytes` (views on its buffer must be re-taken afterwards). */
export function growTo(mem: WebAssembly.Memory, bytes: number): void {
  const need = Math.ceil(bytes / 65536) - mem.buffer.byteLength / 65536;
  if (need > 0) mem.grow(need);
}
