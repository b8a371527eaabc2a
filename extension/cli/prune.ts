import { readBundle } from '../core/bundle/io.ts';
import { isInputRole, type RoleMapping } from '../core/bundle/types.ts';
import { InputError } from '../core/errors.ts';
import type { JsonValue } from '../core/json.ts';
import { parseParamAssignment } from '../core/methods/params.ts';
import { prune } from '../core/methods/prune.ts';
import type { PruneResult } from '../core/methods/types.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single } from './args.ts';

export function parseRoleMapping(values: readonly string[]): RoleMapping {
  const mapping: RoleMapping = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    const role = eq > 0 ? v.slice(0, eq) : '';
    if (!isInputRole(role)) throw new InputError(`--input expects role=array|none with a known role, got "${v}".`);
    const target = v.slice(eq + 1);
    if (!target) throw new InputError(`--input ${role}= needs an array name or none.`);
    mapping[role] = target === 'none' ? null : target;
  }
  return mapping;
}

/** The JSON printed by `prune --json`: method, params, then the oracle-named fields. */
export function resultJson(r: PruneResult): { [k: string]: JsonValue } {
  return { method: r.method, params: r.params, ...r.output };
}

export const pruneCommand: CliCommand = {
  name: 'prune',
  usage: 'prune <bundle.npz> --method <id> [--param k=v ...] [--input role=array|none ...] [--repeat N] [--json]',
  async run(args) {
    const p = parseArgs(args, ['method', 'param', 'input', 'repeat'], ['json']);
    if (p.positional.length !== 1) throw new InputError('prune needs exactly one bundle file (.npz or .npy).');
    const method = single(p, 'method');
    if (!method) throw new InputError('prune needs --method <id> (see `prunelens methods`).');
    const params: Record<string, JsonValue> = {};
    for (const a of p.flags.get('param') ?? []) {
      const [k, v] = parseParamAssignment(a);
      params[k] = v;
    }
    const mapping = parseRoleMapping(p.flags.get('input') ?? []);
    const repeatText = single(p, 'repeat') ?? '1';
    const repeat = Number(repeatText);
    if (!Number.isInteger(repeat) || repeat < 1) throw new InputError(`--repeat must be a positive integer, got "${repeatText}".`);
    const bundle = readBundle(p.positional[0]);
    let result = prune(bundle, method, params, mapping);
    for (let i = 1; i < repeat; i++) result = prune(bundle, method, params, mapping);
    if (p.switches.has('json')) {
      process.stdout.write(`${JSON.stringify(resultJson(result))}\n`);
    } else {
      process.stdout.write(`${result.method}: kept ${result.keep.length} of ${result.n} tokens\n`);
      process.stdout.write(`params: ${JSON.stringify(result.params)}\n`);
      process.stdout.write(`keep: ${JSON.stringify(result.keep)}\n`);
      for (const note of result.notes) process.stdout.write(`note: ${note}\n`);
    }
    return 0;
  },
};
