import { InputError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { MethodSpec, ParamSpec, Params } from './types.ts';

function describe(v: JsonValue): string {
  return JSON.stringify(v);
}

function bad(method: string, spec: ParamSpec, v: JsonValue, want: string): never {
  throw new InputError(`Parameter ${spec.name} of ${method} must be ${want}, got ${describe(v)}.`);
}

function checkRange(method: string, spec: ParamSpec, v: JsonValue, x: number): void {
  if (spec.min !== undefined && x < spec.min) bad(method, spec, v, `≥ ${spec.min}`);
  if (spec.max !== undefined && x > spec.max) bad(method, spec, v, `≤ ${spec.max}`);
}

// Plain functions, no per-call closures: prune() validates on every run, including sub-millisecond ones.
function check(method: string, spec: ParamSpec, v: JsonValue): JsonValue {
  switch (spec.kind) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(method, spec, v, 'a finite number');
      checkRange(method, spec, v, v as number);
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) bad(method, spec, v, 'an integer');
      checkRange(method, spec, v, v as number);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') bad(method, spec, v, 'true or false');
      return v;
    case 'enum':
      if (typeof v !== 'string' || !(spec.values ?? []).includes(v)) bad(method, spec, v, `one of ${(spec.values ?? []).join('|')}`);
      return v;
    case 'string':
      if (typeof v !== 'string') bad(method, spec, v, 'a string');
      return v;
    case 'integer-list':
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) bad(method, spec, v, 'a non-empty list of integers');
      for (const x of v as number[]) checkRange(method, spec, v, x);
      return v;
  }
}

/** Validate user parameters against a method's declared schema and fill defaults. */
export function resolveParams(spec: MethodSpec, given: Params): JsonObject {
  const out: JsonObject = {};
  for (const name of Object.keys(given)) {
    const value = given[name];
    const p = spec.params.find((q) => q.name === name);
    if (!p) {
      const names = spec.params.filter((q) => !q.informational).map((q) => q.name);
      throw new InputError(`Unknown parameter "${name}" for ${spec.id}; known: ${names.join(', ')}.`);
    }
    out[name] = check(spec.id, p, value);
  }
  for (const p of spec.params) {
    if (!(p.name in out) && p.default !== undefined) out[p.name] = p.default;
  }
  return out;
}

/** Parse a CLI `key=value` pair: the value is JSON where it parses as JSON, else a string. */
export function parseParamAssignment(text: string): [string, JsonValue] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new InputError(`--param expects key=value, got "${text}".`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  try {
    return [key, JSON.parse(raw) as JsonValue];
  } catch {
    return [key, raw];
  }
}

// Typed readers for resolved params (the schema has already checked kinds).
export const num = (p: Params, k: string): number => p[k] as number;
export const optNum = (p: Params, k: string): number | undefined => (typeof p[k] === 'number' ? (p[k] as number) : undefined);
export const str = (p: Params, k: string): string => p[k] as string;
export const bool = (p: Params, k: string): boolean => p[k] as boolean;
