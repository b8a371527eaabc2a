import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { TEXT_FILE, VISION_FILE, preprocessorConfig, probeConfig, probeManifest } from './configs.ts';
import { probeReadme } from './readme.ts';
import { buildTextModel } from './text.ts';
import { tokenizerConfig, tokenizerJson } from './tokenizer-json.ts';
import { buildVocabulary } from './vocabulary.ts';
import { buildVisionModel } from './vision.ts';

/**
 * Generates the PruneLens Probe folder (see README.md there). `npm run models` runs this file; the work is
 * skipped when the hash of the generator sources matches onnx/stamp.json and every output exists.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const STAMP = 'onnx/stamp.json';

const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;

/** Every file the generator writes (relative paths), besides onnx/stamp.json. */
export const PROBE_FILES = [
  'prunelens.json', 'config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json', 'README.md',
  VISION_FILE, TEXT_FILE,
] as const;

/** Every generated file, relative path → contents. Deterministic: same sources, same bytes. */
export function probeFiles(): Map<string, Uint8Array | string> {
  const vocab = buildVocabulary();
  const contents: Record<(typeof PROBE_FILES)[number], Uint8Array | string> = {
    'prunelens.json': json(probeManifest()),
    'config.json': json(probeConfig(vocab.length)),
    'preprocessor_config.json': json(preprocessorConfig()),
    'tokenizer.json': json(tokenizerJson(vocab)),
    'tokenizer_config.json': json(tokenizerConfig(vocab)),
    'README.md': probeReadme(vocab),
    [VISION_FILE]: buildVisionModel(),
    [TEXT_FILE]: buildTextModel(),
  };
  return new Map(PROBE_FILES.map((f) => [f, contents[f]]));
}

/** sha256 over the generator's sources and the ONNX encoder version. */
export function inputsHash(): string {
  const h = createHash('sha256');
  const sources = [
    ...readdirSync(HERE).filter((f) => f.endsWith('.ts')).sort().map((f) => join(HERE, f)),
    resolve(HERE, '..', 'onnx', 'builder.ts'),
  ];
  for (const f of sources) h.update(f.slice(HERE.length)).update(readFileSync(f));
  const protoPkg = resolve(HERE, '..', '..', 'node_modules', 'onnx-proto', 'package.json');
  if (existsSync(protoPkg)) h.update((JSON.parse(readFileSync(protoPkg, 'utf8')) as { version: string }).version);
  return h.digest('hex');
}

/** Write the probe folder into `outDir` (no stamp). Returns the relative paths written. */
export function generateProbe(outDir: string): string[] {
  const files = probeFiles();
  for (const [rel, data] of files) {
    const path = join(outDir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, data);
  }
  return [...files.keys()];
}

/** True when `outDir` holds every output and its stamp matches `hash`. */
export function upToDate(outDir: string, hash: string): boolean {
  const stamp = join(outDir, STAMP);
  if (!existsSync(stamp)) return false;
  const saved = (JSON.parse(readFileSync(stamp, 'utf8')) as { inputsHash?: string }).inputsHash;
  return saved === hash && PROBE_FILES.every((rel) => existsSync(join(outDir, rel)));
}

/** Generate into `outDir` unless it is up to date; writes the stamp. */
export function ensureProbe(outDir: string, force = false): { skipped: boolean; files: string[] } {
  const hash = inputsHash();
  if (!force && upToDate(outDir, hash)) return { skipped: true, files: [] };
  const files = generateProbe(outDir);
  writeFileSync(join(outDir, STAMP), json({ inputsHash: hash }));
  return { skipped: false, files };
}

function main(argv: string[]): void {
  const outIdx = argv.indexOf('--out');
  const outDir = outIdx >= 0 ? resolve(argv[outIdx + 1]) : HERE;
  const t0 = performance.now();
  const r = ensureProbe(outDir, argv.includes('--force'));
  const ms = Math.round(performance.now() - t0);
  console.log(r.skipped ? `probe model: up to date (${outDir})` : `probe model: wrote ${r.files.length} files to ${outDir} in ${ms} ms`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main(process.argv.slice(2));
