// The DPP helper thread: it runs posted kernels on the shared memory and reports done; a thread whose
// kernels cannot be instantiated is refused at start (the caller stays on one thread) instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DppHelper } from '../../extension/core/methods/dpp-helper.ts';
import { get, instantiateKernels } from '../../extension/core/numeric/wasm-module.ts';

// mark(a, …): memory[a] = a as int32 (i32.store); params as the DPP kernels take them (7 × i32).
const MARK = { name: 'mark', locals: [0], code: [...get(0), ...get(0), 0x36, 2, 0, 0x0b] };
const CONTROL_AT = 0;

test('a helper thread runs posted kernel pairs on the shared memory and signals done', () => {
  const { mem, module } = instantiateKernels<(...a: number[]) => void>(7, [MARK, { ...MARK, name: 'mark2' }], true);
  const helper = DppHelper.start(module, mem, CONTROL_AT, [['mark', 'mark2']]);
  assert.ok(helper, 'worker threads and shared memory are available in Node 20');
  const view = new Int32Array(mem.buffer);
  // project gets args[0] (c), update gets args[6] (row): both mark their own address.
  helper.post(0, [256, 0, 0, 0, 0, 0, 512, 0, 0, 0, 0]);
  helper.wait();
  assert.equal(view[256 / 4], 256);
  assert.equal(view[512 / 4], 512);
  helper.post(0, [1024, 0, 0, 0, 0, 0, 2048, 0, 0, 0, 0]);
  helper.wait();
  assert.equal(view[1024 / 4], 1024);
  assert.equal(view[2048 / 4], 2048);
});

test('a helper whose kernels fail to instantiate is refused at once, not after the start timeout', () => {
  const { mem } = instantiateKernels<(...a: number[]) => void>(7, [MARK], true);
  // A module over an unshared memory cannot link to the shared one the worker gets.
  const { module: unsharedModule } = instantiateKernels<(...a: number[]) => void>(7, [MARK], false);
  const t0 = Date.now();
  assert.equal(DppHelper.start(unsharedModule, mem, CONTROL_AT, [['mark', 'mark']]), null);
  assert.ok(Date.now() - t0 < 4000, 'refused well before the 5 s start timeout');
});

test('an unshared memory gets no helper (one thread)', () => {
  const { mem, module } = instantiateKernels<(...a: number[]) => void>(7, [MARK], false);
  assert.equal(DppHelper.start(module, mem, CONTROL_AT, [['mark', 'mark']]), null);
});
