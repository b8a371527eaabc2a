/** Element types PruneLens reads and writes in .npy/.npz (little-endian, C order). */
export type DType = 'float16' | 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

/**
 * In-memory storage per dtype. float16 is widened to Float32Array on read (JS has no portable
 * Float16Array yet) and int64 to Float64Array (exact up to 2^53, which covers every index/count).
 */
export type TensorData = Float32Array | Float64Array | Int32Array | Uint8Array;

export interface Tensor {
  /** dtype as stored in the file (the in-memory array may be wider, see TensorData). */
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export function tensorSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function isFloatDType(dtype: DType): boolean {
  return dtype === 'float16' || dtype === 'float32' || dtype === 'float64';
}

export function makeTensor(dtype: DType, shape: readonly number[], data: TensorData): Tensor {
  if (tensorSize(shape) !== data.length) {
    throw new Error(`tensor shape [${shape.join(',')}] does not match ${data.length} elements`);
  }
  return { dtype, shape: [...shape], data };
}

/** Row-major matrix view used by the methods. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float32Array | Float64Array;
}

export function matrix(rows: number, cols: number, data: Float32Array | Float64Array): Matrix {
  if (rows * cols !== data.length) throw new Error(`matrix ${rows}x${cols} does not match ${data.length} elements`);
  return { rows, cols, data };
}
