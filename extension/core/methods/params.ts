import { InputError } from '../errors.ts';
import type { JsonObject, JsonValue } from '../json.ts';
import type { MethodSpec, ParamSpec, Params } from './types.ts';

function describe(v: JsonValue): string {
  return JSON.stringify(v);
}

function check(method: string, spec: ParamSpec, v: JsonValue): JsonValue {
  const bad = (want: string): never => {
    throw new InputError(`Parameter ${spec.name} of ${method} must be ${want}, got ${describe(v)}.`);
  };
  const range = (x: number): void => {
    if (spec.min !== undefined && x < spec.min) bad(`≥ ${spec.min}`);
    if (spec.max !== undefined && x > spec.max) bad(`≤ ${spec.max}`);
  };
  switch (spec.kind) {
    case 'number':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad('a finite number');
      range(v as number);
      return v;
    case 'integer':
      if (typeof v !== 'number' || !Number.isInteger(v)) bad('an integer');
      range(v as number);
      return v;
    case 'boolean':
      if (typeof v !== 'boolean') bad('true or false');
      return v;
    case 'enum':
      if (typeof v !== 'string' || !(spec.values ?? []).includes(v)) bad(`one of ${(spec.values ?? []).join('|')}`);
      return v;
    case 'string':
      if (typeof v !== 'string') bad('a string');
      return v;
    case 'integer-list':
      if (!Array.isArray(v) || v.length === 0 || v.some((x) => typeof x !== 'number' || !Number.isInteger(x))) bad('a non-empty list of integers');
      (v as number[]).forEach(range);
      return v;
  }
}

/** Validate user parameters against a method's declared schema and fill defaults. */
export function resolveParams(spec: MethodSpec, given: Params): JsonObject {
  const known = new Map(spec.params.map((p) => [p.name, p]));
  const out: JsonObject = {};
  for (const [name, value] of Object.entries(given)) {
    const p = known.get(name);
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
