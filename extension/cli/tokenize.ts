import { InputError } from '../core/errors.ts';
import { loadTokenizer } from '../core/runtime/tokenizer.ts';
import type { CliCommand } from './command.ts';
import { parseArgs, single } from './args.ts';

export const tokenizeCommand: CliCommand = {
  name: 'tokenize',
  usage: 'tokenize --model <folder> "<question>" [--context-length N] [--json]   the ids fed to the text tower',
  async run(args) {
    const p = parseArgs(args, ['model', 'context-length'], ['json']);
    const folder = single(p, 'model');
    if (!folder) throw new InputError('tokenize needs --model <folder> (with a tokenizer.json).');
    if (p.positional.length !== 1) throw new InputError('tokenize needs exactly one question (quote it; "" means no question).');
    const ctxText = single(p, 'context-length');
    const ctx = ctxText === undefined ? undefined : Number(ctxText);
    if (ctx !== undefined && !Number.isInteger(ctx)) throw new InputError(`--context-length must be an integer, got "${ctxText}".`);
    const tokenizer = loadTokenizer(folder, ctx);
    const r = tokenizer.encode(p.positional[0]);
    if (p.switches.has('json')) {
      process.stdout.write(`${JSON.stringify({ ...r, contextLength: tokenizer.contextLength })}\n`);
      return 0;
    }
    if (r.ids) {
      process.stdout.write(`ids (${r.ids.length}): ${JSON.stringify(r.ids)}\n`);
      process.stdout.write(`tokens: ${JSON.stringify(r.tokens)}\n`);
    }
    if (r.notice) process.stdout.write(`note: ${r.notice}\n`);
    return 0;
  },
};
