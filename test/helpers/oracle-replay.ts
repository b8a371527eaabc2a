import assert from 'node:assert/strict';
import { resultJson } from '../../extension/cli/prune.ts';
import type { JsonObject, JsonValue } from '../../extension/core/json.ts';
import { prune } from '../../extension/core/methods/prune.ts';
import type { PruneResult } from '../../extension/core/methods/types.ts';
import { assertClose, oracleRtol, recordsFor, type OracleCase, type OracleRecord } from './oracle.ts';

/** How an oracle record is replayed through `prunelens prune`: method id, --param and --input values. */
export interface Replay {
  method: string;
  params: JsonObject;
  inputs: string[];
}

const METHOD_IDS: Record<string, string> = { f3a_proposed: 'f3a', tome_schedule: 'tome' };

const F3A_VIEW_INPUTS: Record<string, string[]> = {
  'features+cue': [],
  'image_joint+text': ['features=image_joint', 'cue=text'],
  'features, no cue': ['cue=none'],
  'features+cue (dense variant)': [],
  'features+cue_flat': ['cue=cue_flat'],
};

export function replayOf(r: OracleRecord): Replay {
  const method = METHOD_IDS[r.method] ?? r.method;
  const params: JsonObject = { ...r.params };
  let inputs: string[] = [];
  if (r.method === 'prumerge') inputs = ['cls_attn=pm_cls_attn'];
  if (r.method === 'f3a_proposed') {
    const view = String(r.params.view);
    const mapped = F3A_VIEW_INPUTS[view];
    if (!mapped) throw new Error(`unknown f3a view ${view}`);
    inputs = mapped;
  }
  return { method, params, inputs };
}

/** Flags and informational fields that describe the oracle run rather than the method's output. */
const NOT_OUTPUT = new Set([
  'method',
  'params',
  'f32_vs_f64_max_rel_dev',
  'perturbation_agrees',
  'keep_set_robust',
  'float64_agrees',
  'merge_pairs_set_robust',
  'stable_under_perturbation',
  'alt_readings_that_change_result',
  // "topk order among equal values is unspecified": informational only (oracle README §3)
  'topk_order',
]);

function hasFraction(v: JsonValue): boolean {
  if (typeof v === 'number') return !Number.isInteger(v);
  if (Array.isArray(v)) return v.some(hasFraction);
  if (v && typeof v === 'object') return Object.values(v).some(hasFraction);
  return false;
}

/** Compare a `prune --json` object with an oracle record: integer-valued fields exactly, float fields to tolerance. */
export function assertMatchesRecord(actual: JsonObject, r: OracleRecord, where: string): void {
  const f3a = r.method === 'f3a_proposed';
  for (const [field, expected] of Object.entries(r)) {
    if (NOT_OUTPUT.has(field)) continue;
    assert.ok(field in actual, `${where}: output lacks field "${field}"`);
    const got = actual[field];
    if (hasFraction(expected)) {
      const rtol = f3a ? 1e-9 : oracleRtol(r, field);
      assertClose(got, expected, rtol, f3a ? 0 : 1e-6, `${where}.${field}`);
    } else {
      assert.deepEqual(got, expected, `${where}.${field}`);
    }
  }
}

/** Flags of the oracle run, not output fields (for the field-by-field comparison below). */
const RUN_FLAGS = new Set(['method', 'params', 'f32_vs_f64_max_rel_dev', 'perturbation_agrees', 'keep_set_robust', 'float64_agrees']);

/** Every output field of an oracle record in a result's `output`: `floatFields` to the record's tolerance, the rest exactly. */
export function assertOutputFields(output: JsonObject, r: OracleRecord, where: string, floatFields: ReadonlySet<string>): void {
  for (const [field, expected] of Object.entries(r)) {
    if (RUN_FLAGS.has(field)) continue;
    assert.ok(field in output, `${where}: missing ${field}`);
    if (floatFields.has(field)) assertClose(output[field], expected, oracleRtol(r, field), 1e-6, `${where} ${field}`);
    else assert.deepEqual(output[field], expected, `${where} ${field}`);
  }
}

/**
 * Replays every oracle record of `method` (at least `min`, each agreeing with float64) through `prune`,
 * checks the `prune --json` fields against it, and hands each result to `check` for the method's own checks.
 */
export function replayRecords(method: string, min: number, check: (res: PruneResult, r: OracleRecord, where: string, c: OracleCase) => void = () => {}): { c: OracleCase; r: OracleRecord }[] {
  const records = recordsFor(method);
  assert.ok(records.length >= min, `${records.length} ${method} records, expected at least ${min}`);
  for (const { c, r } of records) {
    assert.equal(r.float64_agrees, true);
    const rep = replayOf(r);
    const res = prune(c.bundle, rep.method, rep.params);
    const where = `${c.name} ${JSON.stringify(r.params)}`;
    assertMatchesRecord(resultJson(res), r, where);
    check(res, r, where, c);
  }
  return records;
}
