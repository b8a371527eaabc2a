import { test } from 'node:test';
import assert from 'node:assert/strict';
import { zipSync } from 'fflate';
import { parseNpy } from '../../extension/core/bundle/npy.ts';
import { parseNpz, serializeNpz } from '../../extension/core/bundle/npz.ts';
import { bundleFromNpzBytes, bundleToNpzBytes } from '../../extension/core/bundle/io.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import type { DType, Tensor } from '../../extension/core/bundle/tensor.ts';
import { InputError } from '../../extension/core/errors.ts';
import { loadOracleCase } from '../helpers/oracle.ts';

const meta = { source: 'test', model: '', weightsKind: 'synthetic' as const, layer: null, extra: {} };

/** Hand-written .npy bytes, independent of our serializer. */
function npyBytes(descr: string, shape: string, body: Uint8Array, fortran = 'False', version = 1): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }`;
  const pre = version === 1 ? 10 : 12;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const dv = new DataView(out.buffer);
  if (version === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[pre + i] = header.charCodeAt(i);
  out.set(body, pre + header.length);
  return out;
}

const f32 = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);

function expectInputError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof InputError, `expected InputError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

test('reads the oracle .npz files written by NumPy (stored members, float32/int32/uint8)', () => {
  const c = loadOracleCase('oracle_f06_next_24x24+12x18_d16');
  const f = c.bundle.arrays.get('features');
  assert.deepEqual(f?.shape, [804, 16]);
  assert.equal(f?.dtype, 'float32');
  assert.deepEqual(Array.from(c.bundle.arrays.get('grid')?.data ?? []), [24, 24]);
  const ak = c.bundle.arrays.get('always_keep');
  assert.equal(ak?.dtype, 'uint8');
  // 12 high-res rows, each ending in a newline token
  assert.equal(Array.from(ak?.data ?? []).filter((v) => v === 1).length, 12);
});

test('hand-written .npy of every supported dtype decodes to the right values', () => {
  const cases: [string, DType, Uint8Array, number[]][] = [
    ['<f4', 'float32', f32([1.5, -2]), [1.5, -2]],
    ['<f8', 'float64', new Uint8Array(Float64Array.from([0.1, 3]).buffer), [0.1, 3]],
    ['<f2', 'float16', new Uint8Array(Uint16Array.from([0x3c00, 0xc000, 0x3555]).buffer), [1, -2, 0.333251953125]],
    ['<i4', 'int32', new Uint8Array(Int32Array.from([-7, 9]).buffer), [-7, 9]],
    ['<i8', 'int64', new Uint8Array(BigInt64Array.from([-3n, 2n ** 40n]).buffer), [-3, 2 ** 40]],
    ['|u1', 'uint8', Uint8Array.from([0, 255]), [0, 255]],
    ['|b1', 'bool', Uint8Array.from([1, 0]), [1, 0]],
  ];
  for (const [descr, dtype, body, values] of cases) {
    const t = parseNpy(npyBytes(descr, `(${values.length},)`, body), 'x');
    assert.equal(t.dtype, dtype);
    assert.deepEqual(Array.from(t.data), values, descr);
  }
});

test('round-trips every dtype through .npz, stored and deflated', () => {
  const arrays = new Map<string, Tensor>([
    ['features', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
    ['f64', { dtype: 'float64', shape: [2], data: Float64Array.from([Math.PI, -0]) }],
    ['f16', { dtype: 'float16', shape: [3], data: Float32Array.from([0.5, -1024, 65504]) }],
    ['i32', { dtype: 'int32', shape: [2], data: Int32Array.from([-1, 2 ** 30]) }],
    ['i64', { dtype: 'int64', shape: [1], data: Float64Array.from([2 ** 50]) }],
    ['u8', { dtype: 'uint8', shape: [2], data: Uint8Array.from([3, 250]) }],
    ['b', { dtype: 'bool', shape: [2], data: Uint8Array.from([0, 1]) }],
  ]);
  for (const compress of [false, true]) {
    const back = parseNpz(serializeNpz(arrays, compress));
    for (const [name, t] of arrays) {
      const u = back.get(name);
      assert.ok(u, name);
      assert.equal(u.dtype, t.dtype, name);
      assert.deepEqual(u.shape, t.shape, name);
      assert.deepEqual(Array.from(u.data), Array.from(t.data), name);
    }
  }
});

test('bundle metadata survives a write/read round trip', () => {
  const b = makeBundle(new Map([['features', { dtype: 'float32', shape: [1, 2], data: Float32Array.from([1, 2]) } as Tensor]]), {
    ...meta,
    model: 'probe',
    layer: -2,
    extra: { provider: 'cpu' },
  });
  const back = bundleFromNpzBytes(bundleToNpzBytes(b, true), 'x.npz');
  assert.equal(back.meta.model, 'probe');
  assert.equal(back.meta.layer, -2);
  assert.equal(back.meta.extra.provider, 'cpu');
  assert.equal(back.arrays.has('__prunelens_meta__'), false);
});

test('bad .npy input: one clear sentence naming the array', () => {
  expectInputError(() => parseNpy(npyBytes('<f4', '(2, 2)', f32([1, 2, 3, 4]), 'True'), 'features'), /"features" is in Fortran order/);
  expectInputError(() => parseNpy(npyBytes('>f4', '(1,)', f32([1])), 'keys'), /"keys" has unsupported dtype >f4 \(big-endian/);
  expectInputError(() => parseNpy(npyBytes('<c8', '(1,)', new Uint8Array(8)), 'text'), /"text" has unsupported dtype <c8/);
  expectInputError(() => parseNpy(npyBytes('<f4', '(4,)', f32([1, 2])), 'cue'), /"cue" is truncated: expected 16 data bytes, found 8/);
  expectInputError(() => parseNpy(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), 'grid'), /"grid" is not a .npy array/);
  expectInputError(() => parseNpy(npyBytes('<f4', '(1,)', f32([1])).subarray(0, 20), 'grid'), /"grid" is truncated \(header cut off\)/);
  expectInputError(() => parseNpy(npyBytes('<f4', '(1,)', f32([1]), 'False', 9), 'x'), /unsupported .npy format version 9/);
});

test('bad .npz input: corrupt, truncated, empty, foreign members', () => {
  const good = serializeNpz(new Map([['features', { dtype: 'float32', shape: [1, 1], data: Float32Array.from([1]) } as Tensor]]));
  expectInputError(() => parseNpz(new Uint8Array(0), 'a.npz'), /a.npz is empty/);
  expectInputError(() => parseNpz(good.subarray(0, good.length - 10), 'b.npz'), /b.npz is not a readable .npz \(corrupt or truncated zip/);
  const corrupt = Uint8Array.from(good);
  corrupt.fill(0x41, 0, 30);
  // fflate finds members through the central directory, so a trashed local header surfaces as a bad member
  expectInputError(() => parseNpz(corrupt, 'c.npz'), /c.npz is not a readable .npz|"features" is not a .npy array/);
  const deflated = serializeNpz(new Map([['features', { dtype: 'float32', shape: [64, 64], data: new Float32Array(4096).map((_, i) => Math.sin(i)) } as Tensor]]), true);
  const mangled = Uint8Array.from(deflated);
  mangled.fill(0xff, 80, 200);
  assert.throws(() => parseNpz(mangled, 'e.npz'), InputError);
  expectInputError(() => parseNpz(zipSync({ 'notes.txt': new TextEncoder().encode('hi') }), 'd.npz'), /d.npz contains "notes.txt", which is not a .npy array/);
});

function bundleWith(extra: [string, Tensor][]): () => unknown {
  const features: Tensor = { dtype: 'float32', shape: [4, 2], data: new Float32Array(8).fill(1) };
  return () => makeBundle(new Map<string, Tensor>([['features', features], ...extra]), meta);
}

test('bundle validation: wrong rank, N mismatch, NaN/Inf, empty, grid mismatch, width mismatch', () => {
  expectInputError(() => makeBundle(new Map(), meta), /no "features" array/);
  expectInputError(
    () => makeBundle(new Map([['features', { dtype: 'float32', shape: [4], data: new Float32Array(4) } as Tensor]]), meta),
    /"features" must be 2-D, got shape \[4\]/,
  );
  expectInputError(
    () => makeBundle(new Map([['features', { dtype: 'float32', shape: [0, 3], data: new Float32Array(0) } as Tensor]]), meta),
    /"features" is empty/,
  );
  expectInputError(
    () => makeBundle(new Map([['features', { dtype: 'int32', shape: [1, 1], data: new Int32Array(1) } as Tensor]]), meta),
    /"features" must be floating point, got int32/,
  );
  expectInputError(bundleWith([['keys', { dtype: 'float32', shape: [3, 2], data: new Float32Array(6) }]]), /"keys" has 3 tokens but "features" has 4/);
  expectInputError(bundleWith([['llm_attn', { dtype: 'float32', shape: [4, 1], data: new Float32Array(4) }]]), /"llm_attn" must be 1-D/);
  expectInputError(bundleWith([['cls_attn', { dtype: 'float32', shape: [2, 5], data: new Float32Array(10) }]]), /"cls_attn" covers 5 tokens but "features" has 4/);
  expectInputError(bundleWith([['text', { dtype: 'float32', shape: [1, 2], data: Float32Array.from([NaN, 1]) }]]), /"text" contains NaN at element 0/);
  expectInputError(bundleWith([['cue', { dtype: 'float32', shape: [1, 2], data: Float32Array.from([1, Infinity]) }]]), /"cue" contains Inf at element 1/);
  expectInputError(bundleWith([['cue', { dtype: 'float32', shape: [1, 3], data: new Float32Array(3) }]]), /"cue" has width 3 but "features" has width 2/);
  expectInputError(bundleWith([['codebook', { dtype: 'float32', shape: [2, 5], data: new Float32Array(10) }]]), /"codebook" has width 5 .* built for this model/);
  expectInputError(bundleWith([['grid', { dtype: 'int32', shape: [2], data: Int32Array.from([3, 3]) }]]), /"grid" is 3×3 = 9 tokens but "features" has 4/);
  expectInputError(bundleWith([['grid', { dtype: 'int32', shape: [3], data: Int32Array.from([2, 2, 1]) }]]), /"grid" must be \[2\]/);
  expectInputError(bundleWith([['group', { dtype: 'int32', shape: [0], data: new Int32Array(0) }]]), /"group" is empty/);
  // a valid bundle passes
  assert.ok(bundleWith([['grid', { dtype: 'int32', shape: [2], data: Int32Array.from([2, 2]) }]])());
});
