import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reuseColumn } from '../../extension/host/columns.ts';

test('a new panel reuses the column of the most recently active panel that has one; none → null (Beside)', () => {
  assert.equal(reuseColumn([]), null);
  assert.equal(reuseColumn([undefined]), null, 'a panel not placed yet gives no column');
  assert.equal(reuseColumn([2, 3]), 2);
  assert.equal(reuseColumn([undefined, 3, 2]), 3);
  assert.equal(reuseColumn([-2, 1]), 1, 'symbolic columns (Beside, Active) are not places');
});
