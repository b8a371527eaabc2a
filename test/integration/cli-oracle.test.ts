// The built CLI as a subprocess reproduces oracle JSON: every record of one 8×8 case, plus PruMerge (24×24)
// and the LLaVA-NeXT multi-group G-Prune case, so every method id is exercised end to end.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { JsonObject } from '../../extension/core/json.ts';
import { REPO } from '../helpers/paths.ts';
import { loadOracleCase, type OracleRecord } from '../helpers/oracle.ts';
import { assertMatchesRecord, replayOf } from '../helpers/oracle-replay.ts';

const CLI = join(REPO, 'dist', 'cli.cjs');

before(() => {
  execFileSync('node', ['esbuild.mjs'], { cwd: REPO, stdio: 'inherit' });
});

function runPrune(npz: string, r: OracleRecord): JsonObject {
  const rep = replayOf(r);
  const args = [CLI, 'prune', npz, '--method', rep.method, '--json'];
  for (const [k, v] of Object.entries(rep.params)) args.push('--param', `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  for (const i of rep.inputs) args.push('--input', i);
  const p = spawnSync('node', args, { encoding: 'utf8' });
  assert.equal(p.status, 0, `prune failed: ${p.stderr}`);
  return JSON.parse(p.stdout) as JsonObject;
}

const selections: [string, (r: OracleRecord) => boolean][] = [
  ['oracle_f03_8x8x32', () => true],
  ['oracle_f05_24x24x64', (r) => r.method === 'prumerge'],
  ['oracle_f06_next_24x24+12x18_d16', (r) => r.method === 'gprune' && r.params.keep_ratio === 0.5],
];

for (const [name, pick] of selections) {
  test(`prunelens prune reproduces ${name} (${name === 'oracle_f03_8x8x32' ? 'all records' : 'selected'})`, () => {
    const c = loadOracleCase(name);
    const records = c.json.results.filter(pick);
    assert.ok(records.length > 0);
    for (const r of records) assertMatchesRecord(runPrune(c.npzPath, r), r, `${name} ${r.method} ${JSON.stringify(r.params)}`);
  });
}

test('prune exits 2 with one line on stderr for bad input', () => {
  const c = loadOracleCase('oracle_f01_4x4x8');
  const cases: [string[], RegExp][] = [
    [['prune', c.npzPath, '--method', 'nope'], /Unknown method "nope"/],
    [['prune', c.npzPath, '--method', 'gprune', '--param', 'bogus=1'], /Unknown parameter "bogus" for gprune/],
    [['prune', '/nonexistent.npz', '--method', 'gprune'], /File not found/],
    [['prune', c.npzPath, '--method', 'gprune', '--input', 'colour=features'], /--input expects role=array\|none/],
  ];
  for (const [args, pattern] of cases) {
    const p = spawnSync('node', [CLI, ...args], { encoding: 'utf8' });
    assert.equal(p.status, 2, `${args.join(' ')} → ${p.status} ${p.stderr}`);
    assert.match(p.stderr, pattern);
    assert.equal(p.stderr.trim().split('\n').length, 1, `one line: ${p.stderr}`);
  }
});
