// `npm run bench`: runs every benchmark section and rewrites its part of BENCHMARKS.md.
//   --only=methods|encode|scaling   one section;  --quick   a short scaling run (576 and 2880 tokens, d = 1024)
import { join } from 'node:path';
import { updateSection } from './markdown.ts';
import { benchMethods, methodsMarkdown } from './methods.ts';
import { benchEncode, encodeMarkdown } from './encode.ts';
import { benchScaling, scalingMarkdown, writeScalingSvg } from './scaling.ts';

const args = process.argv.slice(2);
const runsArg = args.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Number(runsArg.slice(7)) : 5;
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const quick = args.includes('--quick');
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
  if (!only || only === 'scaling') {
    const res = await benchScaling({ quick, runs }, log);
    const command = `npm run bench${only ? ` -- --only=scaling` : ''}${quick ? ' --quick' : ''}`;
    // A quick run writes its own section and plot, so it never replaces the full figures.
    const id = quick ? 'scaling-quick' : 'scaling';
    const svg = quick ? 'bench/scaling-quick.svg' : 'bench/scaling.svg';
    writeScalingSvg(res, join(process.cwd(), svg));
    updateSection(file, id, scalingMarkdown(res, command, svg));
  }
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
