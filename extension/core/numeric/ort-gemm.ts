// C = A·Bᵀ as a one-node ONNX graph (Gemm, transB = 1) on onnxruntime's CPU provider, called synchronously.
//
// onnxruntime-node's public `InferenceSession.run` is async, but its native binding runs synchronously (the
// public wrapper only defers it with setImmediate). Calling the binding keeps `prune()` synchronous. If the
// binding is missing or its shape changes in a future release, `loadOrtGemm` returns null and callers fall
// back to the TypeScript kernel.
import { createRequire } from 'node:module';
import { isMainThread } from 'node:worker_threads';
import os from 'node:os';
import onnxProto from 'onnx-proto';

type Dtype = 'float32' | 'float64';
type FloatArray = Float32Array | Float64Array;

interface OrtTensorLike {
  readonly data: unknown;
}
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: object): void;
  run(feeds: Record<string, OrtTensorLike>, fetches: Record<string, OrtTensorLike | null>, options: object): Record<string, OrtTensorLike>;
}
interface BindingModule {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}
interface CommonModule {
  Tensor: new (type: Dtype | 'int64' | 'uint8' | 'int8' | 'int32', data: FloatArray | BigInt64Array | Uint8Array | Int8Array | Int32Array, dims: number[]) => OrtTensorLike;
}

export interface OrtGemm {
  /**
   * out[i·n + j] = a_i · b_j for row-major a [m,k], b [n,k]; out must hold exactly m·n values. `quiet`: on a
   * session whose pool threads never spin (they sleep when the product ends).
   */
  gemmNT<T extends FloatArray>(a: T, m: number, b: T, n: number, k: number, out: T, quiet?: boolean): void;
  /**
   * out = b·aᵀ [n,m] and the float32 row sums of squares of a only, from one graph run (callers that keep
   * b's norms across runs skip its squares).
   */
  gemmSquaresA(a: Float32Array, m: number, b: Float32Array, n: number, k: number, out: Float32Array): Float32Array;
  /**
   * A screened product's two kernels in one session (one thread pool, so no second pool spins beside it):
   * float32 out = a·bᵀ [m,n], or, with `int8`, out8 = (a8 − 128)·b8ᵀ [p,q] exactly in int32 (a8 holds
   * q + 128 as uint8). Either half may be empty.
   */
  screenedGemm(f32: { a: Float32Array; m: number; b: Float32Array; n: number; out: Float32Array } | null, int8: { a: Uint8Array; p: number; b: Int8Array; q: number; out: Int32Array } | null, k: number): void;
  /** mean_j cos(a_i, b_j) for every row of a (float32 inside the graph, norms clamped at 1e-12). */
  cosineMean(a: Float32Array, m: number, b: Float32Array, n: number, k: number): Float32Array;
  readonly threads: number;
}

const { onnx } = onnxProto;

const F = onnx.TensorProto.DataType.FLOAT;
const I64 = onnx.TensorProto.DataType.INT64;
const U8 = onnx.TensorProto.DataType.UINT8;
const S8 = onnx.TensorProto.DataType.INT8;
const I32 = onnx.TensorProto.DataType.INT32;
const T = onnx.AttributeProto.AttributeType;

/** A graph input or output with symbolic dims. */
const info = (name: string, dims: string[], elemType: number = F) => ({ name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimParam: d })) } } } });
const node = (opType: string, input: string[], output: string[], attribute: object[] = []) => ({ opType, name: output[0], input, output, attribute });

/** The serialised model around one graph (opset 17). */
function encodeModel(graph: object): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, producerName: 'prunelens-kernels', opsetImport: [{ domain: '', version: 17 }], graph }).finish();
}

/** Gemm(A [m,k], B [n,k], transB) with symbolic dims: the one-node graph behind `gemmNT`. */
export function gemmModel(dtype: Dtype): Uint8Array {
  const elem = dtype === 'float32' ? F : onnx.TensorProto.DataType.DOUBLE;
  return encodeModel({
    name: 'gemm_nt',
    node: [{ opType: 'Gemm', name: 'gemm', input: ['A', 'B'], output: ['C'], attribute: [{ name: 'transB', type: T.INT, i: 1 }] }],
    input: [info('A', ['m', 'k'], elem), info('B', ['n', 'k'], elem)],
    output: [info('C', ['m', 'n'], elem)],
  });
}

/**
 * Whether kernels may load onnxruntime in this thread without being asked to. Not in worker threads:
 * terminating a worker that has loaded onnxruntime-node aborts the whole process ("terminate called after
 * throwing an instance of 'Napi::Error'"). PruneLens runs methods off the main thread in a child process
 * (which may be killed safely), so this only guards embedders' worker threads; PRUNELENS_KERNELS=ort (or
 * configureKernels({ backend: 'ort' })) opts a worker in explicitly.
 */
export function ortByDefaultHere(): boolean {
  return isMainThread;
}

/** Row-normalised Gemm(A, B, transB) followed by the mean over columns (norms clamped at 1e-12). */
function cosineMeanModel(): Uint8Array {
  return encodeModel({
    name: 'cosine_mean',
    initializer: [
      { name: 'eps', dims: [], dataType: F, rawData: new Uint8Array(Float32Array.of(1e-12).buffer) },
      { name: 'rowShape', dims: [2], dataType: I64, rawData: new Uint8Array(BigInt64Array.of(1n, -1n).buffer) },
      { name: 'axis1', dims: [1], dataType: I64, rawData: new Uint8Array(BigInt64Array.of(1n).buffer) },
    ],
    node: [
      // ‖A_i‖ as Sqrt(ReduceSum(A ⊙ A)): ReduceL2 over the same rows takes 2–3× longer.
      node('Mul', ['A', 'A'], ['AA']),
      node('ReduceSum', ['AA', 'axis1'], ['SA'], [{ name: 'keepdims', type: T.INT, i: 1 }]),
      node('Sqrt', ['SA'], ['NA0']),
      node('ReduceL2', ['B'], ['NB0'], [{ name: 'axes', type: T.INTS, ints: [1] }, { name: 'keepdims', type: T.INT, i: 1 }]),
      node('Max', ['NA0', 'eps'], ['NA']),
      node('Max', ['NB0', 'eps'], ['NB1']),
      node('Reshape', ['NB1', 'rowShape'], ['NB']),
      node('Gemm', ['A', 'B'], ['G'], [{ name: 'transB', type: T.INT, i: 1 }]),
      node('Div', ['G', 'NA'], ['GA']),
      node('Div', ['GA', 'NB'], ['S']),
      node('ReduceMean', ['S'], ['R'], [{ name: 'axes', type: T.INTS, ints: [1] }, { name: 'keepdims', type: T.INT, i: 0 }]),
    ],
    input: [info('A', ['m', 'k']), info('B', ['n', 'k'])],
    output: [info('R', ['m'])],
  });
}

/**
 * Gemm(B, Aᵀ) plus ReduceSum(A ⊙ A) over A's rows. Mul + ReduceSum: onnxruntime's ReduceSumSquare/ReduceL2
 * take 2–3× longer for the same sums (576×1024: ≈ 250 µs vs ≈ 110 µs).
 */
function gemmSquaresAModel(): Uint8Array {
  return encodeModel({
    name: 'gemm_tn_squares_a',
    initializer: [{ name: 'axis1', dims: [1], dataType: I64, rawData: new Uint8Array(BigInt64Array.of(1n).buffer) }],
    node: [
      node('Gemm', ['B', 'A'], ['C'], [{ name: 'transB', type: T.INT, i: 1 }]),
      node('Mul', ['A', 'A'], ['AA']),
      node('ReduceSum', ['AA', 'axis1'], ['SA'], [{ name: 'keepdims', type: T.INT, i: 0 }]),
    ],
    input: [info('A', ['m', 'k']), info('B', ['n', 'k'])],
    output: [info('C', ['n', 'm']), info('SA', ['m'])],
  });
}

/**
 * Gemm(A, B, transB) beside MatMulInteger(A8, B8ᵀ) with A8's zero point 128: uint8 × int8 is the pair the
 * VNNI kernels run natively (≈ 3× float32's throughput here); B8 is transposed inside the graph (a small block).
 */
function screenedModel(): Uint8Array {
  return encodeModel({
    name: 'screened_gemm',
    initializer: [{ name: 'zeroA', dims: [], dataType: U8, rawData: Uint8Array.of(128) }],
    node: [
      node('Gemm', ['A', 'B'], ['C'], [{ name: 'transB', type: T.INT, i: 1 }]),
      node('Transpose', ['B8'], ['B8T'], [{ name: 'perm', type: T.INTS, ints: [1, 0] }]),
      node('MatMulInteger', ['A8', 'B8T', 'zeroA'], ['C8']),
    ],
    input: [info('A', ['m', 'k']), info('B', ['n', 'k']), info('A8', ['p', 'k'], U8), info('B8', ['q', 'k'], S8)],
    output: [info('C', ['m', 'n']), info('C8', ['p', 'q'], I32)],
  });
}

/**
 * Whether idle pool threads spin (≈ 40 ms) before they sleep, as OpenBLAS's do (≈ 0.1 s). On a virtual
 * machine a sleeping thread's core is handed back to the host, and waking it costs about one small GEMM:
 * without spinning, runs that follow each other by milliseconds (a budget drag, the GEMM blocks of one
 * method) were measured ~1.7× slower at 576 tokens. PRUNELENS_SPIN=0 makes idle threads sleep at once.
 */
export function kernelSpinning(): boolean {
  return process.env.PRUNELENS_SPIN !== '0';
}

/** Threads for the kernels: PRUNELENS_THREADS, else every core. */
export function kernelThreads(): number {
  const env = Number(process.env.PRUNELENS_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

const EMPTY_F32 = new Float32Array(0);
const EMPTY_U8 = new Uint8Array(0);
const EMPTY_S8 = new Int8Array(0);

let cached: OrtGemm | null | undefined;
let loadError: string | null = null;

/** Why the ORT kernels are unavailable (null when they loaded or were never tried). */
export function ortGemmError(): string | null {
  return loadError;
}

export function loadOrtGemm(): OrtGemm | null {
  if (cached !== undefined) return cached;
  try {
    const req = createRequire(import.meta.url);
    const bindingModule = req('onnxruntime-node/dist/binding.js') as BindingModule;
    const common = req('onnxruntime-common') as CommonModule;
    if (typeof bindingModule?.initOrt !== 'function' || typeof bindingModule.binding?.InferenceSession !== 'function') {
      throw new Error('onnxruntime-node/dist/binding.js has an unexpected shape');
    }
    bindingModule.initOrt();
    const threads = kernelThreads();
    const sessions = new Map<string, NativeSession>();
    const session = (dtype: Dtype, kind: 'gemm' | 'cosmean' | 'gemmsqa' | 'screened' = 'gemm', quiet = false): NativeSession => {
      const key = `${kind}:${dtype}${quiet ? ':quiet' : ''}`;
      let s = sessions.get(key);
      if (!s) {
        s = new bindingModule.binding.InferenceSession();
        const models = { screened: screenedModel, gemmsqa: gemmSquaresAModel, cosmean: cosineMeanModel, gemm: () => gemmModel(dtype) };
        const bytes = models[kind]();
        // The cosine mean is a thin product (a few text rows): one thread, so no second pool spins beside
        // the GEMM session's.
        const poolThreads = kind === 'cosmean' ? 1 : threads;
        s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
          intraOpNumThreads: poolThreads,
          interOpNumThreads: 1,
          executionMode: 'sequential',
          graphOptimizationLevel: 'all',
          extra: { session: { intra_op: { allow_spinning: kernelSpinning() && !quiet ? '1' : '0' } } },
        });
        sessions.set(key, s);
      }
      return s;
    };
    const f32 = (data: Float32Array, dims: number[]): OrtTensorLike => new common.Tensor('float32', data, dims);
    const gemm: OrtGemm = {
      threads,
      cosineMean(a, m, b, n, k) {
        return session('float32', 'cosmean').run({ A: f32(a, [m, k]), B: f32(b, [n, k]) }, { R: null }, {}).R.data as Float32Array;
      },
      gemmSquaresA(a, m, b, n, k, out) {
        if (a.length !== m * k || b.length !== n * k || out.length !== m * n) throw new Error(`gemmSquaresA: buffer sizes do not match [${n},${k}]·[${m},${k}]ᵀ`);
        return session('float32', 'gemmsqa').run({ A: f32(a, [m, k]), B: f32(b, [n, k]) }, { C: f32(out, [n, m]), SA: null }, {}).SA.data as Float32Array;
      },
      screenedGemm(f, q, k) {
        if (f && (f.a.length !== f.m * k || f.b.length !== f.n * k || f.out.length !== f.m * f.n)) throw new Error(`screenedGemm: float32 buffer sizes do not match [${f.m},${k}]·[${f.n},${k}]ᵀ`);
        if (q && (q.a.length !== q.p * k || q.b.length !== q.q * k || q.out.length !== q.p * q.q)) throw new Error(`screenedGemm: int8 buffer sizes do not match [${q.p},${k}]·[${q.q},${k}]ᵀ`);
        const feeds = {
          A: f32(f ? f.a : EMPTY_F32, [f ? f.m : 0, k]),
          B: f32(f ? f.b : EMPTY_F32, [f ? f.n : 0, k]),
          A8: new common.Tensor('uint8', q ? q.a : EMPTY_U8, [q ? q.p : 0, k]),
          B8: new common.Tensor('int8', q ? q.b : EMPTY_S8, [q ? q.q : 0, k]),
        };
        session('float32', 'screened').run(feeds, { C: f ? f32(f.out, [f.m, f.n]) : null, C8: q ? new common.Tensor('int32', q.out, [q.p, q.q]) : null }, {});
      },
      gemmNT(a, m, b, n, k, out, quiet = false) {
        const dtype: Dtype = a instanceof Float64Array ? 'float64' : 'float32';
        if (a.length !== m * k || b.length !== n * k || out.length !== m * n) throw new Error(`gemmNT: buffer sizes do not match [${m},${k}]·[${n},${k}]ᵀ`);
        const C = new common.Tensor(dtype, out, [m, n]);
        // Outputs are written into `out` (pre-allocated fetch), so no result copy.
        session(dtype, 'gemm', quiet).run({ A: new common.Tensor(dtype, a, [m, k]), B: new common.Tensor(dtype, b, [n, k]) }, { C }, {});
      },
    };
    // One tiny call proves the binding accepts our tensors and writes pre-allocated outputs.
    const probe = new Float32Array(1);
    gemm.gemmNT(Float32Array.of(2, 3), 1, Float32Array.of(4, 5), 1, 2, probe);
    if (probe[0] !== 23) throw new Error(`onnxruntime Gemm probe returned ${probe[0]}, expected 23`);
    cached = gemm;
  } catch (err) {
    loadError = err instanceof Error ? err.message : String(err);
    cached = null;
  }
  return cached;
}
