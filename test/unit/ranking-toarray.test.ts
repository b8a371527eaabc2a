// toArray copies from a reused template: every call must return a fresh array with the exact values.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toArray } from '../../extension/core/numeric/ranking.ts';

test('toArray returns independent exact copies (float32, float64, plain, above the template length)', () => {
  const f32 = Float32Array.of(0.1, -0, Infinity, NaN, 3.4028234663852886e38);
  const a = toArray(f32);
  const b = toArray(f32);
  assert.notEqual(a, b);
  a[0] = 42;
  assert.equal(b[0], Math.fround(0.1), 'a later copy is not touched by writes to an earlier one');
  assert.deepEqual(b, Array.from(f32));
  assert.ok(Object.is(b[1], -0));
  const f64 = Float64Array.from({ length: 3000 }, (_, i) => i / 7);
  assert.deepEqual(toArray(f64), Array.from(f64));
  assert.deepEqual(toArray([1, 2.5]), [1, 2.5]);
  const long = Float32Array.from({ length: (1 << 16) + 5 }, (_, i) => i * 0.5);
  const copy = toArray(long);
  assert.equal(copy.length, long.length);
  assert.equal(copy[long.length - 1], ((1 << 16) + 4) * 0.5);
  assert.equal(toArray(new Float32Array(0)).length, 0);
});
