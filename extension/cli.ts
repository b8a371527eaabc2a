// `prunelens` — headless CLI over the pure core. Each subcommand lives in extension/cli/<name>.ts.
import { InputError } from './core/errors.ts';
import type { CliCommand } from './cli/command.ts';
import { methodsCommand } from './cli/methods.ts';
import { pruneCommand } from './cli/prune.ts';
import { encodeCommand } from './cli/encode.ts';
import { preprocessCommand } from './cli/preprocess.ts';
import { tokenizeCommand } from './cli/tokenize.ts';
import { modelsCommand } from './cli/models.ts';
import { analyzeCommand } from './cli/analyze.ts';

const COMMANDS: readonly CliCommand[] = [analyzeCommand, methodsCommand, pruneCommand, preprocessCommand, tokenizeCommand, encodeCommand, modelsCommand];

function usage(): string {
  const lines = COMMANDS.map((c) => `  ${c.usage}`);
  return `usage: prunelens <command> ...\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    process.stderr.write(`prunelens: unknown command "${name}".\n${usage()}`);
    return 2;
  }
  return cmd.run(rest);
}

// `prunelens ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof InputError) {
      process.stderr.write(`prunelens: ${err.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`prunelens: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
