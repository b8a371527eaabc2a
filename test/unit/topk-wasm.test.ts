// The WebAssembly top-k for float32 scores ranks exactly as (score desc, index asc), −0 tying +0, and hands
// back to the JavaScript path (null) whenever its threshold or the scores do not fit it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Float32TopK, MAX_SCORES, orderKey } from '../../extension/core/numeric/topk-wasm.ts';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

const bits = new Float32Array(1);
const bitsU32 = new Uint32Array(bits.buffer);
const keyOf = (v: number): number => {
  bits[0] = v;
  return orderKey(bitsU32[0]);
};

/** The reference ranking: (value desc, index asc), −0 and +0 equal. */
function ranking(s: Float32Array): number[] {
  return Array.from(s.keys()).sort((a, b) => s[b] - s[a] || a - b);
}

test('orderKey falls as the float32 value rises, ties −0 with +0 and puts NaN outside ±∞', () => {
  const ascending = [-Infinity, -3.4e38, -1, -1e-45, -0, 0, 1e-45, 1, 3.4e38, Infinity];
  for (let i = 1; i < ascending.length; i++) {
    const [lo, hi] = [keyOf(ascending[i - 1]), keyOf(ascending[i])];
    if (Object.is(ascending[i - 1], -0)) assert.equal(hi, lo, '−0 and +0 share a key');
    else assert.ok(hi < lo, `${ascending[i]} ranks before ${ascending[i - 1]}`);
  }
  for (const nanBits of [0x7fc00000, 0x7f800001, 0xffc00000, 0xffffffff]) {
    bitsU32[0] = nanBits;
    const k = orderKey(bitsU32[0]);
    assert.ok(k < keyOf(Infinity) || k > keyOf(-Infinity), `NaN 0x${nanBits.toString(16)} lies outside`);
  }
});

test('Float32TopK.select equals the reference ranking prefix: ties, signs, ±0, ±∞, subnormals, odd lengths', () => {
  const topk = Float32TopK.load();
  assert.ok(topk, 'WebAssembly SIMD is available in Node 20');
  const rand = mulberry32(21);
  const specials = [0, -0, Infinity, -Infinity, 1e-45, -1e-45, 3e-39];
  for (const n of [64, 65, 67, 301, 2880, 5001]) {
    for (const spread of ['wide', 'ties', 'narrow'] as const) {
      const s = Float32Array.from({ length: n }, () => {
        if (rand() < 0.03) return specials[Math.floor(rand() * specials.length)];
        if (spread === 'ties') return Math.floor(rand() * 12) - 4;
        if (spread === 'narrow') return 1 + Math.floor(rand() * 64) * 2 ** -20;
        return (rand() - 0.3) * 10 ** Math.floor(rand() * 12 - 6);
      });
      const ref = ranking(s);
      for (const want of [1, 7, Math.floor(n / 9), Math.floor(n / 2)]) {
        // A threshold a few places below the k-th value (as the sampled guess gives), unless that is −∞.
        const t = s[ref[Math.min(n - 1, want + Math.floor(want / 4))]];
        const got = topk.select(s, want, t);
        if (t === -Infinity || ref.filter((i) => s[i] >= t).length > 2 * want + 64) {
          assert.equal(got, null, `${n} ${spread} k=${want}: left to the JavaScript path`);
          continue;
        }
        assert.ok(got, `${n} ${spread} k=${want}`);
        assert.deepEqual(got.order, ref.slice(0, want), `${n} ${spread} k=${want}: order`);
        assert.deepEqual(got.ascending, ref.slice(0, want).sort((a, b) => a - b), `${n} ${spread} k=${want}: kept set`);
      }
    }
  }
});

test('Float32TopK.select declines NaN scores and thresholds that admit too few or too many', () => {
  const topk = Float32TopK.load();
  assert.ok(topk);
  const s = Float32Array.from({ length: 200 }, (_, i) => (i * 37) % 101);
  assert.equal(topk.select(s, 10, 100.5), null, 'fewer than k reach the threshold');
  assert.equal(topk.select(s, 10, 0), null, 'every score reaches it: more than 2k + 64 candidates');
  assert.ok(topk.select(s, 10, 95));
  const withNaN = s.slice();
  withNaN[150] = NaN;
  assert.equal(topk.select(withNaN, 10, 95), null, 'NaN goes to the comparator path');
  bitsU32[0] = 0xffc00001; // a negative NaN pattern
  withNaN[150] = bits[0];
  assert.equal(topk.select(withNaN, 10, 95), null);
  const long = new Float32Array(MAX_SCORES + 1);
  long[7] = 1;
  assert.equal(topk.select(long, 1, 1), null, 'rows beyond MAX_SCORES are not staged');
});
