import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../../extension/core/bundle/tensor.ts';
import { makeBundle } from '../../extension/core/bundle/validate.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import { splitGroupBudget } from '../../extension/core/methods/f3a/multigroup.ts';
import { InputError } from '../../extension/core/errors.ts';
import { loadOracleCase } from '../helpers/oracle.ts';

const c = loadOracleCase('oracle_f06_next_24x24+12x18_d16');

/** A one-grid bundle holding some of f06's tokens, to run plain single-grid F³A on. */
function subBundle(tokens: number[], h: number, w: number) {
  const f = c.bundle.arrays.get('features') as Tensor;
  const d = f.shape[1];
  const data = new Float32Array(tokens.length * d);
  tokens.forEach((t, i) => data.set(f.data.subarray(t * d, (t + 1) * d), i * d));
  return makeBundle(
    new Map<string, Tensor>([
      ['features', { dtype: 'float32', shape: [tokens.length, d], data }],
      ['grid', { dtype: 'int32', shape: [2], data: Int32Array.from([h, w]) }],
    ]),
    c.bundle.meta,
  );
}

test('F³A on a LLaVA-NeXT bundle = single-grid F³A per group with a proportional budget, newlines kept', () => {
  const B = 160;
  const r = prune(c.bundle, 'f3a', { B });
  assert.equal(r.keep.length, B);
  const always = c.bundle.arrays.get('always_keep') as Tensor;
  const group = c.bundle.arrays.get('group') as Tensor;
  const newlines = [...always.data.keys()].filter((i) => always.data[i] === 1);
  for (const t of newlines) assert.ok(r.keep.includes(t), `newline ${t} kept`);
  const base = [...group.data.keys()].filter((i) => group.data[i] === 0);
  const hires = [...group.data.keys()].filter((i) => group.data[i] === 1 && always.data[i] === 0);
  const [bBase, bHires] = splitGroupBudget(B, base.length, hires.length, newlines.length);
  assert.equal(bBase + bHires + newlines.length, B);
  const soloBase = prune(subBundle(base, 24, 24), 'f3a', { B: bBase });
  const soloHires = prune(subBundle(hires, 12, 18), 'f3a', { B: bHires });
  assert.deepEqual(r.keep.filter((t) => group.data[t] === 0), soloBase.keep.map((t) => base[t]));
  assert.deepEqual(r.keep.filter((t) => group.data[t] === 1 && always.data[t] === 0), soloHires.keep.map((t) => hires[t]));
  const labels = r.output.labels as string[];
  assert.equal(labels.filter((l) => l === 'always').length, newlines.length);
  assert.ok(r.notes.some((n) => n.includes('LLaVA-NeXT layout')));
});

test('F³A multi-group budget split: proportional, and too small a budget is a clear error', () => {
  assert.deepEqual(splitGroupBudget(100, 576, 216, 12), [64, 24]);
  assert.throws(() => prune(c.bundle, 'f3a', { B: 12 }), (e: unknown) => e instanceof InputError && /too small for this LLaVA-NeXT bundle/.test(e.message));
});
