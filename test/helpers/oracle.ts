import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { readBundle } from '../../extension/core/bundle/io.ts';
import type { TokenBundle } from '../../extension/core/bundle/types.ts';
import type { JsonObject, JsonValue } from '../../extension/core/json.ts';
import { ORACLE_DIR } from './paths.ts';

export interface OracleRecord extends JsonObject {
  method: string;
  params: JsonObject;
  f32_vs_f64_max_rel_dev: { [field: string]: number };
}

export interface OracleCase {
  name: string;
  json: JsonObject & { results: OracleRecord[] };
  bundle: TokenBundle;
  npzPath: string;
}

export function oracleCaseNames(): string[] {
  return readdirSync(ORACLE_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

const cache = new Map<string, OracleCase>();
export function loadOracleCase(name: string): OracleCase {
  const hit = cache.get(name);
  if (hit) return hit;
  const npzPath = join(ORACLE_DIR, `${name}.npz`);
  const c: OracleCase = {
    name,
    json: JSON.parse(readFileSync(join(ORACLE_DIR, `${name}.json`), 'utf8')) as OracleCase['json'],
    bundle: readBundle(npzPath),
    npzPath,
  };
  cache.set(name, c);
  return c;
}

export function recordsFor(method: string): { c: OracleCase; r: OracleRecord }[] {
  const out: { c: OracleCase; r: OracleRecord }[] = [];
  for (const name of oracleCaseNames()) {
    const c = loadOracleCase(name);
    for (const r of c.json.results) if (r.method === method) out.push({ c, r });
  }
  return out;
}

/** The README's float tolerance: |a−b| ≤ rtol·|b| + 1e-6, rtol = max(1e-4, 10 × f32_vs_f64_max_rel_dev[field]). */
export function oracleRtol(r: OracleRecord, field: string): number {
  const dev = r.f32_vs_f64_max_rel_dev?.[field] ?? 0;
  return dev > 1e-5 ? 10 * dev : 1e-4;
}

/** Deep float comparison; `null` in expected means −∞ (ToMe node_max). */
export function assertClose(actual: JsonValue | ArrayLike<number>, expected: JsonValue, rtol: number, atol: number, path: string): void {
  if (expected === null) {
    assert.ok(actual === null || actual === -Infinity, `${path}: expected -inf, got ${String(actual)}`);
    return;
  }
  if (typeof expected === 'number') {
    assert.equal(typeof actual, 'number', `${path}: expected a number, got ${JSON.stringify(actual)}`);
    const a = actual as number;
    assert.ok(Math.abs(a - expected) <= rtol * Math.abs(expected) + atol, `${path}: ${a} vs expected ${expected} (rtol ${rtol}, atol ${atol})`);
    return;
  }
  if (Array.isArray(expected)) {
    const arr = actual as ArrayLike<JsonValue>;
    assert.ok(arr && typeof arr.length === 'number', `${path}: expected an array`);
    assert.equal(arr.length, expected.length, `${path}: length`);
    for (let i = 0; i < expected.length; i++) assertClose(arr[i] as JsonValue, expected[i], rtol, atol, `${path}[${i}]`);
    return;
  }
  assert.deepEqual(actual, expected, path);
}
