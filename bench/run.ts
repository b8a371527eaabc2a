// `npm run bench`: runs every benchmark section and rewrites its part of BENCHMARKS.md.
import { join } from 'node:path';
import { updateSection } from './markdown.ts';
import { benchMethods, methodsMarkdown } from './methods.ts';
import { benchEncode, encodeMarkdown } from './encode.ts';

const args = process.argv.slice(2);
const runsArg = args.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Number(runsArg.slice(7)) : 5;
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const file = join(process.cwd(), 'BENCHMARKS.md');
const log = (s: string): void => console.log(s);

async function main(): Promise<void> {
  if (!only || only === 'methods') {
    const rows = benchMethods(runs, log);
    updateSection(file, 'methods', methodsMarkdown(rows, 'npm run bench'));
  }
  if (!only || only === 'encode') {
    const photos = join(process.cwd(), '..', 'shared', 'images', 'photos');
    const { rows, threads } = await benchEncode(photos, join(process.cwd(), 'models', 'probe'), runs, log);
    updateSection(file, 'encode', encodeMarkdown(rows, threads, runs, 'npm run bench'));
  }
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
