import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import builtin from '../../../models/catalogue.json' with { type: 'json' };
import { InputError } from '../errors.ts';

/** One file of a downloadable model; size and sha256 are null where not known. */
export interface CatalogueFile {
  /** Path inside the model folder (and inside the hub repository), '/'-separated. */
  path: string;
  size: number | null;
  sha256: string | null;
}

export interface CatalogueModel {
  id: string;
  name: string;
  description: string;
  /** Hugging Face repository, e.g. "Xenova/clip-vit-base-patch32". */
  repo: string;
  revision: string;
  license: string;
  files: CatalogueFile[];
}

/** models/catalogue.json: models `prunelens models pull` can fetch. */
export interface Catalogue {
  version: 1;
  baseUrl: string;
  notes: string[];
  models: CatalogueModel[];
}

/** Overrides the hub address (tests point it at a loopback server; mirrors work too). */
export const BASE_URL_ENV = 'PRUNELENS_DOWNLOAD_BASE';

function fail(source: string, what: string): never {
  throw new InputError(`Model catalogue ${source}: ${what}.`);
}

function str(v: unknown, source: string, what: string): string {
  if (typeof v !== 'string' || !v) fail(source, `${what} must be a non-empty string`);
  return v;
}

/** Validates a catalogue; file paths must stay inside the model folder. */
export function parseCatalogue(json: unknown, source: string): Catalogue {
  if (typeof json !== 'object' || json === null) fail(source, 'not a JSON object');
  const o = json as { [k: string]: unknown };
  if (o.version !== 1) fail(source, `unsupported version ${JSON.stringify(o.version)}`);
  const baseUrl = str(o.baseUrl, source, 'baseUrl');
  if (!Array.isArray(o.models)) fail(source, '"models" must be an array');
  const ids = new Set<string>();
  const models = o.models.map((m: unknown, i): CatalogueModel => {
    if (typeof m !== 'object' || m === null) fail(source, `models[${i}] is not an object`);
    const r = m as { [k: string]: unknown };
    const id = str(r.id, source, `models[${i}].id`);
    if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) fail(source, `model id "${id}" must be lower-case letters, digits, ".", "_" or "-"`);
    if (ids.has(id)) fail(source, `model id "${id}" appears twice`);
    ids.add(id);
    if (!Array.isArray(r.files) || r.files.length === 0) fail(source, `model "${id}" lists no files`);
    const files = r.files.map((f: unknown, j): CatalogueFile => {
      const x = (typeof f === 'object' && f !== null ? f : {}) as { [k: string]: unknown };
      const path = str(x.path, source, `${id} files[${j}].path`);
      if (path.startsWith('/') || path.includes('\\') || path.split('/').some((s) => s === '..' || s === '.' || s === '')) {
        fail(source, `${id}: file path "${path}" must be relative, without "." or ".." parts`);
      }
      const size = x.size ?? null;
      if (size !== null && (typeof size !== 'number' || !Number.isInteger(size) || size < 0)) fail(source, `${id} ${path}: size must be a whole number or null`);
      const sha256 = x.sha256 ?? null;
      if (sha256 !== null && (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256))) fail(source, `${id} ${path}: sha256 must be 64 lower-case hex digits or null`);
      return { path, size, sha256 };
    });
    return {
      id,
      name: str(r.name, source, `${id}.name`),
      description: typeof r.description === 'string' ? r.description : '',
      repo: str(r.repo, source, `${id}.repo`),
      revision: typeof r.revision === 'string' && r.revision ? r.revision : 'main',
      license: typeof r.license === 'string' ? r.license : '',
      files,
    };
  });
  const notes = Array.isArray(o.notes) ? o.notes.filter((n): n is string => typeof n === 'string') : [];
  return { version: 1, baseUrl, notes, models };
}

/** The catalogue shipped with PruneLens (models/catalogue.json, bundled). */
export function builtinCatalogue(): Catalogue {
  return parseCatalogue(builtin, 'models/catalogue.json');
}

export function readCatalogue(path: string): Catalogue {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new InputError(`Cannot read the model catalogue ${path}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InputError(`Model catalogue ${path} is not valid JSON.`);
  }
  return parseCatalogue(json, path);
}

export function findModel(cat: Catalogue, id: string): CatalogueModel {
  const m = cat.models.find((x) => x.id === id);
  if (!m) throw new InputError(`Unknown model "${id}" (known: ${cat.models.map((x) => x.id).join(', ')}).`);
  return m;
}

/** Base URL in effect: explicit option, then PRUNELENS_DOWNLOAD_BASE, then the catalogue's. */
export function effectiveBaseUrl(cat: Catalogue, override?: string): string {
  return (override || process.env[BASE_URL_ENV] || cat.baseUrl).replace(/\/+$/, '');
}

/** Hub URL of one file: {base}/{repo}/resolve/{revision}/{path}. */
export function fileUrl(base: string, model: CatalogueModel, file: CatalogueFile): string {
  const enc = (s: string): string => s.split('/').map(encodeURIComponent).join('/');
  return `${base}/${enc(model.repo)}/resolve/${encodeURIComponent(model.revision)}/${enc(file.path)}`;
}

/** Where pulled models go by default (PRUNELENS_MODELS_DIR overrides): the user's cache folder. */
export function defaultModelsDir(): string {
  const env = process.env.PRUNELENS_MODELS_DIR;
  if (env) return env;
  if (process.platform === 'win32') return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'prunelens', 'models');
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'prunelens', 'models');
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'prunelens', 'models');
}
