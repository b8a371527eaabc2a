import { InputError } from '../core/errors.ts';

export interface ParsedArgs {
  positional: string[];
  /** Repeated flags collect every value in order. */
  flags: Map<string, string[]>;
  switches: Set<string>;
}

/**
 * Minimal argv parser: `--flag value`, `--flag=value`, boolean `--switch` (declared), positionals.
 * Unknown flags are an error so typos never pass silently.
 */
export function parseArgs(args: string[], valued: readonly string[], booleans: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], flags: new Map(), switches: new Set() };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.positional.push(...args.slice(i + 1));
      break;
    }
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    if (booleans.includes(name)) {
      if (eq > 0) throw new InputError(`--${name} takes no value.`);
      out.switches.add(name);
      continue;
    }
    if (!valued.includes(name)) throw new InputError(`Unknown option --${name}.`);
    let value: string;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new InputError(`--${name} needs a value.`);
      value = args[++i];
    }
    const list = out.flags.get(name) ?? [];
    list.push(value);
    out.flags.set(name, list);
  }
  return out;
}

export function single(p: ParsedArgs, name: string): string | undefined {
  const v = p.flags.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new InputError(`--${name} given more than once.`);
  return v[0];
}
