import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  LruCache,
  ResultCache,
  SessionCache,
  canonicalJson,
  modelFileId,
  resultKey,
  sessionKey,
  sha256Bytes,
  sha256File,
} from '../../extension/core/runtime/cache.ts';

test('LRU evicts the least recently used entry and reports it', () => {
  const evicted: string[] = [];
  const c = new LruCache<number>({ maxEntries: 2, onEvict: (k) => evicted.push(k) });
  c.set('a', 1);
  c.set('b', 2);
  assert.equal(c.get('a'), 1); // a is now most recent
  c.set('c', 3);
  assert.deepEqual(evicted, ['b']);
  assert.deepEqual(c.keys(), ['a', 'c']);
  c.set('a', 10); // replacing reports the old value
  assert.deepEqual(evicted, ['b', 'a']);
  assert.equal(c.get('a'), 10);
  assert.equal(c.get('b'), undefined);
});

test('LRU respects a size bound and refuses a value larger than the bound', () => {
  const c = new LruCache<Uint8Array>({ maxEntries: 100, maxSize: 10, sizeOf: (v) => v.length });
  c.set('a', new Uint8Array(4));
  c.set('b', new Uint8Array(4));
  assert.equal(c.totalSize, 8);
  c.set('c', new Uint8Array(4));
  assert.deepEqual(c.keys(), ['b', 'c']);
  assert.equal(c.totalSize, 8);
  assert.equal(c.set('huge', new Uint8Array(11)), false);
  assert.equal(c.has('huge'), false);
  assert.deepEqual(c.keys(), ['b', 'c']);
  c.clear();
  assert.equal(c.size, 0);
  assert.equal(c.totalSize, 0);
});

test('session keys change with model mtime, provider and threads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-cache-'));
  try {
    const f = join(dir, 'm.onnx');
    writeFileSync(f, 'x');
    utimesSync(f, 1000, 1000);
    const id1 = await modelFileId(f);
    const k = sessionKey(id1, 'cpu', 2);
    assert.equal(sessionKey(await modelFileId(f), 'cpu', 2), k);
    assert.notEqual(sessionKey(id1, 'webgpu', 2), k);
    assert.notEqual(sessionKey(id1, 'cpu', 1), k);
    utimesSync(f, 2000, 2000);
    assert.notEqual(sessionKey(await modelFileId(f), 'cpu', 2), k);
    assert.notEqual(sessionKey({ bytesKey: 'abc' }, 'cpu', 2), sessionKey({ bytesKey: 'abd' }, 'cpu', 2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('session cache creates once per key (also concurrently), disposes evicted sessions, forgets failures', async () => {
  const disposed: string[] = [];
  let created = 0;
  const cache = new SessionCache<{ name: string }>(2, (s) => {
    disposed.push(s.name);
  });
  const make = (name: string) => async () => {
    created++;
    await new Promise((r) => setTimeout(r, 5));
    return { name };
  };
  const [a1, a2] = await Promise.all([cache.getOrCreate('a', make('a')), cache.getOrCreate('a', make('a'))]);
  assert.equal(a1, a2);
  assert.equal(created, 1);
  await cache.getOrCreate('b', make('b'));
  await cache.getOrCreate('c', make('c'));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(disposed, ['a']);
  assert.equal(cache.has('a'), false);

  await assert.rejects(
    cache.getOrCreate('bad', async () => {
      throw new Error('load failed');
    }),
    /load failed/,
  );
  await new Promise((r) => setImmediate(r));
  assert.equal(cache.has('bad'), false);
  const again = await cache.getOrCreate('bad', make('bad'));
  assert.equal(again.name, 'bad');
});

test('result keys: same inputs → same key; any part changing → new key; param order irrelevant', () => {
  const base = { imageSha256: 'ab'.repeat(32), question: 'What is on the taxi?', model: 'clip-b32@1700|cpu', params: { k: 64, lambda: 0.5 } };
  const k = resultKey(base);
  assert.match(k, /^[0-9a-f]{64}$/);
  assert.equal(resultKey({ ...base, params: { lambda: 0.5, k: 64 } }), k);
  assert.equal(resultKey({ ...base, question: '  What is on the taxi?  ' }), k);
  assert.notEqual(resultKey({ ...base, question: 'What is on the car?' }), k);
  assert.notEqual(resultKey({ ...base, imageSha256: 'cd'.repeat(32) }), k);
  assert.notEqual(resultKey({ ...base, model: 'clip-b16@1700|cpu' }), k);
  assert.notEqual(resultKey({ ...base, params: { k: 32, lambda: 0.5 } }), k);
  assert.equal(canonicalJson({ b: [1, { d: 2, c: null }], a: 'x' }), '{"a":"x","b":[1,{"c":null,"d":2}]}');
});

test('result cache is bounded by bytes', () => {
  const c = new ResultCache<Float32Array>({ maxEntries: 10, maxBytes: 1000, sizeOf: (v) => v.byteLength });
  for (let i = 0; i < 5; i++) c.set(`r${i}`, new Float32Array(100)); // 400 B each
  assert.equal(c.size, 2);
  assert.deepEqual(c.keys(), ['r3', 'r4']);
  assert.ok(c.totalSize <= 1000);
});

test('sha256 of bytes and of a streamed file agree with node:crypto', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prunelens-sha-'));
  try {
    const data = new Uint8Array(300_000).map((_, i) => (i * 31) & 255);
    const f = join(dir, 'blob');
    writeFileSync(f, data);
    const want = createHash('sha256').update(data).digest('hex');
    assert.equal(sha256Bytes(data), want);
    assert.equal(await sha256File(f), want);
    assert.equal(sha256Bytes(new Uint8Array(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
