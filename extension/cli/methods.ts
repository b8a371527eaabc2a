import { METHODS } from '../core/methods/registry.ts';
import type { CliCommand } from './command.ts';
import { parseArgs } from './args.ts';

export const methodsCommand: CliCommand = {
  name: 'methods',
  usage: 'methods [--json]                         list methods, the inputs they need and their parameters',
  async run(args) {
    const p = parseArgs(args, [], ['json']);
    const list = METHODS.map((m) => ({
      id: m.id,
      label: m.label,
      family: m.family,
      source: m.source,
      needs: [...m.needs],
      optional: [...m.optional],
      selection: m.selection,
      params: m.params.map((q) => ({
        name: q.name,
        kind: q.kind,
        default: q.default ?? null,
        description: q.description,
        ...(q.values ? { values: [...q.values] } : {}),
        ...(q.informational ? { informational: true } : {}),
      })),
    }));
    if (p.switches.has('json')) {
      process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      return 0;
    }
    for (const m of list) {
      process.stdout.write(`${m.id.padEnd(10)} ${m.label}\n`);
      process.stdout.write(`${''.padEnd(10)} needs: ${m.needs.join(', ')}${m.optional.length ? `; optional: ${m.optional.join(', ')}` : ''}\n`);
      for (const q of m.params.filter((x) => !x.informational)) {
        process.stdout.write(`${''.padEnd(10)}   --param ${q.name}=${JSON.stringify(q.default)}  ${q.description}\n`);
      }
    }
    return 0;
  },
};
