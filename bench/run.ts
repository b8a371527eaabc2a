// `npm run bench`: runs every benchmark section and rewrites its part of BENCHMARKS.md.
//   --only=methods|encode|scaling|limits   one section;  --quick   a short scaling run (576 and 2880 tokens, d = 1024)
//   --replot   rebuild the scaling section and plot from bench/scaling.json without measuring
import { join } from 'node:path';
import { updateSection } from './markdown.ts';
import { benchMethods, methodsMarkdown } from './methods.ts';
import { benchEncode, encodeMarkdown } from './encode.ts';
import { benchLimits, limitsMarkdown } from './limits.ts';
import { benchScaling, type ScalingResult, scalingMarkdown, writeScalingSvg } from './scaling.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { benchProviders, providersMarkdown } from './providers.ts';

const args = process.argv.slice(2);
const runsArg = args.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Number(runsArg.slice(7)) : 5;
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const quick = args.includes('--quick');
const file = join(process.cwd(), 'BENCHMARKS.md');
const log = (s: string): void => console.log(s);
/** The command as a reader would type it to redo one section (or all of them), with `flags` after --only. */
function commandFor(section: string, ...flags: string[]): string {
  const all = [...(only ? [`--only=${section}`] : []), ...flags, ...(runsArg ? [runsArg] : [])];
  return all.length ? `npm run bench -- ${all.join(' ')}` : 'npm run bench';
}

async function main(): Promise<void> {
  if (!only || only === 'methods') {
    const rows = benchMethods(runs, log);
    updateSection(file, 'methods', methodsMarkdown(rows, commandFor('methods')));
  }
  if (!only || only === 'encode') {
    const photos = join(process.cwd(), '..', 'shared', 'images', 'photos');
    const { rows, threads } = await benchEncode(photos, join(process.cwd(), 'models', 'probe'), runs, log);
    updateSection(file, 'encode', encodeMarkdown(rows, threads, runs, commandFor('encode')));
  }
  if (!only || only === 'scaling') {
    // A quick run writes its own section, plot and raw figures, so it never replaces the full ones.
    const id = quick ? 'scaling-quick' : 'scaling';
    const svg = `bench/${id}.svg`;
    const json = join(process.cwd(), 'bench', `${id}.json`);
    // --replot: rebuild the section and plot from the raw figures of the last run, without measuring.
    const res: ScalingResult = args.includes('--replot') ? (JSON.parse(readFileSync(json, 'utf8')) as ScalingResult) : await benchScaling({ quick, runs }, log);
    if (process.env.PRUNELENS_BENCH_METHODS || process.env.PRUNELENS_BENCH_SIZES) {
      // A partial development run prints its table and leaves the recorded figures alone.
      console.log(scalingMarkdown(res, 'partial run', svg));
      return;
    }
    if (!args.includes('--replot')) writeFileSync(json, `${JSON.stringify(res, null, 1)}\n`);
    writeScalingSvg(res, join(process.cwd(), svg));
    updateSection(file, id, scalingMarkdown(res, commandFor('scaling', ...(quick ? ['--quick'] : [])), svg));
  }
  if (!only || only === 'limits') {
    const res = await benchLimits(runs, log);
    updateSection(file, 'limits', limitsMarkdown(res, commandFor('limits')));
  }
  // Opt-in only: on a machine without a GPU it would replace the recorded GPU rows with CPU-only ones.
  if (only === 'providers') {
    const providers = (args.find((a) => a.startsWith('--providers='))?.slice(12) ?? 'cpu,webgpu,cuda').split(',');
    const template = process.env.PRUNELENS_BENCH_TEMPLATE ?? join(process.cwd(), '..', 'shared', 'models', 'clip-vit-base-patch32');
    const res = await benchProviders({ providers, towers: ['b16', 'l14'], template, imagesDir: join(process.cwd(), 'media', 'examples'), runs }, log);
    writeFileSync(join(process.cwd(), 'bench', 'providers.json'), `${JSON.stringify(res, null, 1)}\n`);
    updateSection(file, 'providers', providersMarkdown(res, commandFor('providers', `--providers=${providers.join(',')}`)));
  }
  console.log(`wrote ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
