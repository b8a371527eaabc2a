import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Analysis } from '../../extension/core/analysis.ts';
import {
  LIMITS,
  PROTOCOL_VERSION,
  packAnalysis,
  packVector,
  unpackAnalysis,
  unpackVector,
  validateHostMessage,
  validateWebviewMessage,
  type WebviewToHost,
} from '../../extension/protocol.ts';

const reject = (x: unknown, why: RegExp): void => {
  const v = validateWebviewMessage(x);
  assert.equal(v.ok, false, `accepted ${JSON.stringify(x)}`);
  if (!v.ok) assert.match(v.reason, why);
};

describe('validateWebviewMessage', () => {
  test('accepts every well-formed message and returns it unchanged', () => {
    const good: WebviewToHost[] = [
      { type: 'ready', protocol: PROTOCOL_VERSION },
      { type: 'rerun', requestId: 3, method: 'f3a', budget: 144 },
      { type: 'cancel', requestId: 0 },
      { type: 'tokenLocked', index: 12, method: 'gprune' },
      { type: 'tokenLocked', index: null, method: null },
      { type: 'export', requestId: 9, format: 'png', fileName: 'prunelens-heatmap-gprune-k144.png', data: new ArrayBuffer(16) },
      { type: 'export', requestId: 9, format: 'json', fileName: 'analysis (1).json', data: new ArrayBuffer(0) },
      { type: 'loadCodebook', requestId: 1 },
      { type: 'log', level: 'warn', message: 'hello' },
    ];
    for (const m of good) {
      const v = validateWebviewMessage(m);
      assert.ok(v.ok, `${m.type}: ${v.ok ? '' : v.reason}`);
      assert.deepEqual(v.message, m);
    }
  });

  test('rejects non-objects, unknown types and unexpected fields', () => {
    reject(null, /not an object/);
    reject([{ type: 'ready' }], /not an object/);
    reject('ready', /not an object/);
    reject({ type: 'eval', code: '1' }, /unknown message type "eval"/);
    reject({ type: 42 }, /unknown message type number/);
    reject({ type: 'cancel', requestId: 1, extra: true }, /unexpected field "extra"/);
    reject({ type: 'ready', protocol: PROTOCOL_VERSION + 1 }, /protocol/);
  });

  test('rejects bad request ids, method ids and budgets', () => {
    for (const requestId of [-1, 1.5, Number.NaN, '1', null, 2 ** 60]) reject({ type: 'cancel', requestId }, /requestId/);
    for (const method of ['../etc', 'F3A', '', 'a'.repeat(LIMITS.maxMethodIdLength + 1), 3]) reject({ type: 'rerun', requestId: 1, method, budget: 4 }, /method/);
    for (const budget of [0, -3, 1.5, Number.POSITIVE_INFINITY, '10', LIMITS.maxTokens + 1]) reject({ type: 'rerun', requestId: 1, method: 'fastv', budget }, /budget/);
    for (const index of [-1, 0.5, '3', LIMITS.maxTokens]) reject({ type: 'tokenLocked', index, method: null }, /index/);
  });

  test('export: only plain file names with the right extension, ArrayBuffer data within the cap', () => {
    const base = { type: 'export', requestId: 1, format: 'png', data: new ArrayBuffer(4) };
    for (const fileName of ['../x.png', '/tmp/x.png', 'a/b.png', 'a\\b.png', '.hidden.png', 'x..png', 'x.png\n', '']) reject({ ...base, fileName }, /fileName/);
    reject({ ...base, fileName: 'x.svg' }, /must end with \.png/);
    reject({ ...base, fileName: 'x.png', format: 'exe' }, /format/);
    reject({ ...base, fileName: 'x.png', data: [1, 2, 3] }, /ArrayBuffer/);
    reject({ ...base, fileName: 'x.png', data: new Uint8Array(4) }, /ArrayBuffer/);
    reject({ ...base, fileName: 'x.png', data: new ArrayBuffer(LIMITS.maxExportBytes + 1) }, /too large/);
  });

  test('log messages are length-capped, levels checked', () => {
    const v = validateWebviewMessage({ type: 'log', level: 'error', message: 'x'.repeat(LIMITS.maxLogLength + 50) });
    assert.ok(v.ok && v.message.type === 'log');
    if (v.ok && v.message.type === 'log') assert.equal(v.message.message.length, LIMITS.maxLogLength);
    reject({ type: 'log', level: 'debug', message: 'x' }, /level/);
    reject({ type: 'log', level: 'info', message: 5 }, /message/);
  });
});

describe('validateHostMessage', () => {
  test('accepts init and entry messages with ArrayBuffer payloads, rejects version skew and bad payloads', () => {
    const analysis = { results: [] };
    const init = { type: 'init', protocol: PROTOCOL_VERSION, analysis, scores: {}, image: { mime: 'image/png', bytes: new ArrayBuffer(8) }, capabilities: { rerun: true, loadCodebook: false, save: true } };
    assert.ok(validateHostMessage(init).ok);
    const skew = validateHostMessage({ ...init, protocol: 99 });
    assert.ok(!skew.ok && /protocol 99/.test(skew.reason));
    assert.ok(!validateHostMessage({ ...init, image: { mime: 'image/png', bytes: [1, 2] } }).ok);
    assert.ok(validateHostMessage({ type: 'entry', requestId: 2, budget: 10, entry: { method: 'f3a' }, scores: new ArrayBuffer(8) }).ok);
    assert.ok(!validateHostMessage({ type: 'entry', requestId: 2, budget: 10, entry: { method: 'f3a' }, scores: [0.5] }).ok);
    assert.ok(!validateHostMessage({ type: 'nope' }).ok);
    assert.ok(validateHostMessage({ type: 'lockToken', index: null }).ok);
    assert.ok(!validateHostMessage({ type: 'lockToken', index: -2 }).ok);
  });
});

describe('tensors as ArrayBuffers', () => {
  const analysis = (): Analysis => ({
    version: 1,
    image: null,
    question: '',
    model: { id: 'm', name: 'm', description: '', weightsKind: 'synthetic', provider: 'cpu', providerNotes: [] },
    grid: [2, 2],
    n: 4,
    budget: 2,
    timings_ms: {},
    results: [
      { method: 'gprune', status: 'ok', params: {}, keep: [0, 3], time_ms: 1, display: { label: 'G', selection: 'ranked', scoreName: 's', scores: [0.1, 1 / 3, -2e-300, 7], trace: {}, notes: [] } },
      { method: 'random', status: 'ok', params: {}, keep: [1, 2], time_ms: 1, display: { label: 'R', selection: 'ranked', scoreName: 's', scores: null, trace: {}, notes: [] } },
      { method: 'codebook', status: 'skipped', reason: 'no codebook' },
    ],
  });

  test('packAnalysis moves scores into Float64 buffers without touching the input; unpack restores them bit for bit', () => {
    const a = analysis();
    const before = JSON.stringify(a);
    const packed = packAnalysis(a);
    assert.equal(JSON.stringify(a), before, 'input not mutated');
    assert.deepEqual(Object.keys(packed.scores), ['gprune']);
    assert.equal(packed.scores.gprune.byteLength, 4 * 8);
    const wire = packed.analysis.results[0];
    assert.ok(wire.status === 'ok' && wire.display.scores === null, 'scores are not sent twice');
    const back = unpackAnalysis(packed.analysis, packed.scores);
    assert.deepEqual(back, a);
  });

  test('packVector / unpackVector round-trip Float64 exactly; malformed buffers are refused', () => {
    const v = [Math.PI, -0, Number.MIN_VALUE, 1e308, Number.NaN];
    const back = Array.from(unpackVector(packVector(v)));
    assert.deepEqual(back.slice(0, 4), v.slice(0, 4));
    assert.ok(Number.isNaN(back[4]));
    assert.throws(() => unpackVector(new ArrayBuffer(12)), /multiple of 8/);
  });
});
