import type { JsonObject, JsonValue } from '../json.ts';

// Tolerant readers for method outputs/traces: a missing or malformed field reads as null, never throws.

export const numOf = (v: JsonValue | undefined): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export const objOf = (v: JsonValue | undefined): JsonObject | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null);

export const arrOf = (v: JsonValue | undefined): JsonValue[] | null => (Array.isArray(v) ? v : null);

/** A number list; null entries (−∞ in the oracle format) and non-numbers read as NaN. */
export function numsOf(v: JsonValue | undefined): number[] | null {
  const a = arrOf(v);
  return a ? a.map((x) => (typeof x === 'number' ? x : Number.NaN)) : null;
}

export const strOf = (v: JsonValue | undefined): string | null => (typeof v === 'string' ? v : null);
