// Resolve what the user pointed at (a Hugging Face / transformers.js folder, a folder with prunelens.json,
// or a manifest file) into concrete files. No ONNX is parsed here; only paths and manifest fields.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { WeightsKind } from '../bundle/types.ts';
import { InputError } from '../errors.ts';
import type { JsonObject } from '../json.ts';
import type { ModelManifest } from './manifest.ts';

export const MANIFEST_FILE = 'prunelens.json';

export interface ResolvedModel {
  /** Stable id (manifest id, or the folder name). */
  id: string;
  name: string;
  description: string;
  /** From the manifest; for a plain HF folder 'real' until the ONNX metadata says otherwise. */
  weightsKind: WeightsKind;
  /** Folder the model's files are relative to. */
  root: string;
  source: 'hf-folder' | 'manifest';
  vision: { path: string; input: string };
  /** Text tower; the same path as vision for a combined model. */
  text: { path: string; input: string } | null;
  /** Manifest-declared outputs: when present the graph is used as-is (no surgery). */
  outputs: NonNullable<ModelManifest['outputs']> | null;
  /** LLaVA-style select_layer when stated (manifest); surgery defaults to -2 (penultimate). */
  featureLayer: number | null;
  preprocessorPath: string;
  /** tokenizer.json, when the folder has one. */
  tokenizerPath: string | null;
  contextLength: number;
  /** Vision patch size from config.json, when stated (the smallest usable image side). */
  patchSize: number | null;
  methodDefaults: { [methodId: string]: JsonObject };
  /** Choices made while resolving, worth showing (e.g. which of several ONNX variants was picked). */
  notes: string[];
}

/**
 * Variants of one ONNX file in a transformers.js export, in order of preference. Full precision first:
 * it is what the model was trained in and what Python users compare against; quantized ones are smaller
 * but shift the numbers. fp16 variants take float16 inputs, which this runtime does not feed.
 */
const VARIANT_ORDER = ['', '_quantized', '_int8', '_uint8', '_q4', '_bnb4'];
const UNSUPPORTED_VARIANTS = ['_fp16', '_q4f16'];

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `${what} not found: ${path}.` : `Cannot read ${path} (${code ?? String(err)}).`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
}

/** Pick `<stem><variant>.onnx` from the given folders; null when none exists. */
function pickVariant(dirs: string[], stem: string, notes: string[]): string | null {
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    const files = new Set(readdirSync(dir));
    const present = VARIANT_ORDER.filter((v) => files.has(`${stem}${v}.onnx`));
    if (present.length > 0) {
      const chosen = `${stem}${present[0]}.onnx`;
      if (present.length > 1) notes.push(`Using ${chosen} (full precision preferred over ${present.slice(1).map((v) => `${stem}${v}.onnx`).join(', ')}).`);
      return join(dir, chosen);
    }
    const unsupported = UNSUPPORTED_VARIANTS.filter((v) => files.has(`${stem}${v}.onnx`));
    if (unsupported.length > 0) {
      throw new InputError(`${join(dir, `${stem}${unsupported[0]}.onnx`)} is a float16 export, which PruneLens cannot feed yet; add the fp32 or quantized ${stem}.onnx.`);
    }
  }
  return null;
}

interface ConfigFacts {
  contextLength: number | null;
  patchSize: number | null;
}

/** The two facts PruneLens reads from a Hugging Face config.json (absent file → nothing known). */
function configFacts(configPath: string): ConfigFacts {
  if (!existsSync(configPath)) return { contextLength: null, patchSize: null };
  const cfg = readJson(configPath, 'config.json') as { text_config?: { max_position_embeddings?: unknown }; vision_config?: { patch_size?: unknown }; patch_size?: unknown };
  const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null);
  return { contextLength: int(cfg?.text_config?.max_position_embeddings), patchSize: int(cfg?.vision_config?.patch_size ?? cfg?.patch_size) };
}

function resolveHfFolder(folder: string): ResolvedModel {
  const notes: string[] = [];
  const preprocessorPath = join(folder, 'preprocessor_config.json');
  if (!existsSync(preprocessorPath)) {
    throw new InputError(`${folder} is not a model folder: it has no preprocessor_config.json (expected a Hugging Face / transformers.js export, or a ${MANIFEST_FILE} manifest).`);
  }
  const dirs = [join(folder, 'onnx'), folder];
  const visionPath = pickVariant(dirs, 'vision_model', notes);
  const textPath = pickVariant(dirs, 'text_model', notes);
  let vision: ResolvedModel['vision'];
  let text: ResolvedModel['text'] = null;
  if (visionPath) {
    vision = { path: visionPath, input: 'pixel_values' };
    if (textPath) text = { path: textPath, input: 'input_ids' };
  } else {
    const combined = pickVariant(dirs, 'model', notes);
    if (!combined) {
      throw new InputError(`No ONNX weights in ${folder}: expected onnx/vision_model.onnx (optionally onnx/text_model.onnx) or one combined onnx/model.onnx.`);
    }
    vision = { path: combined, input: 'pixel_values' };
    text = { path: combined, input: 'input_ids' };
  }
  const tokenizerPath = join(folder, 'tokenizer.json');
  const facts = configFacts(join(folder, 'config.json'));
  return {
    id: basename(folder),
    name: basename(folder),
    description: `Hugging Face / transformers.js export in ${folder}`,
    weightsKind: 'real',
    root: folder,
    source: 'hf-folder',
    vision,
    text,
    outputs: null,
    featureLayer: null,
    preprocessorPath,
    tokenizerPath: existsSync(tokenizerPath) ? tokenizerPath : null,
    contextLength: facts.contextLength ?? 77,
    patchSize: facts.patchSize,
    methodDefaults: {},
    notes,
  };
}

const WEIGHTS_KINDS: readonly WeightsKind[] = ['real', 'probe', 'random-test', 'synthetic', 'unknown'];

/** Check a parsed manifest's fields; one clear sentence per problem. */
export function parseManifest(json: unknown, path: string): ModelManifest {
  const bad = (msg: string): never => {
    throw new InputError(`${path}: ${msg}.`);
  };
  if (!json || typeof json !== 'object' || Array.isArray(json)) return bad('expected a JSON object');
  const m = json as Partial<ModelManifest> & { [k: string]: unknown };
  for (const key of ['id', 'name', 'description'] as const) if (typeof m[key] !== 'string' || m[key] === '') bad(`"${key}" must be a non-empty string`);
  if (!WEIGHTS_KINDS.includes(m.weightsKind as WeightsKind)) bad(`"weightsKind" must be one of ${WEIGHTS_KINDS.join(', ')}`);
  if (!m.vision || typeof m.vision !== 'object' || typeof m.vision.file !== 'string') bad('"vision.file" must name the ONNX file');
  if (m.text !== undefined && (typeof m.text !== 'object' || m.text === null || typeof m.text.file !== 'string')) bad('"text.file" must name the ONNX file');
  if (m.outputs !== undefined) {
    if (typeof m.outputs !== 'object' || m.outputs === null) bad('"outputs" must be an object of output names');
    for (const [k, v] of Object.entries(m.outputs as object)) if (typeof v !== 'string') bad(`"outputs.${k}" must be an output name`);
  }
  if (m.featureLayer !== undefined && (!Number.isInteger(m.featureLayer) || m.featureLayer === 0)) bad('"featureLayer" must be a non-zero integer (-2 = penultimate)');
  if (m.contextLength !== undefined && (!Number.isInteger(m.contextLength) || (m.contextLength as number) <= 0)) bad('"contextLength" must be a positive integer');
  return m as ModelManifest;
}

function requireFile(path: string, what: string, manifestPath: string): string {
  if (!existsSync(path)) throw new InputError(`${what} ${path} (listed in ${manifestPath}) does not exist.`);
  return path;
}

function resolveManifest(manifestPath: string): ResolvedModel {
  const m = parseManifest(readJson(manifestPath, 'Model manifest'), manifestPath);
  const root = dirname(manifestPath);
  const visionPath = requireFile(resolve(root, m.vision.file), 'ONNX file', manifestPath);
  const textPath = m.text ? requireFile(resolve(root, m.text.file), 'ONNX file', manifestPath) : null;
  const preprocessorPath = requireFile(resolve(root, m.preprocessor ?? 'preprocessor_config.json'), 'Preprocessor config', manifestPath);
  const tok = resolve(root, m.tokenizer ?? 'tokenizer.json');
  if (m.tokenizer && !existsSync(tok)) throw new InputError(`Tokenizer ${tok} (listed in ${manifestPath}) does not exist.`);
  const facts = configFacts(join(root, 'config.json'));
  return {
    id: m.id,
    name: m.name,
    description: m.description,
    weightsKind: m.weightsKind,
    root,
    source: 'manifest',
    vision: { path: visionPath, input: m.vision.input ?? 'pixel_values' },
    text: textPath ? { path: textPath, input: m.text?.input ?? 'input_ids' } : null,
    outputs: m.outputs ?? null,
    featureLayer: m.featureLayer ?? null,
    preprocessorPath,
    tokenizerPath: existsSync(tok) ? tok : null,
    contextLength: m.contextLength ?? facts.contextLength ?? 77,
    patchSize: facts.patchSize,
    methodDefaults: m.methodDefaults ?? {},
    notes: [],
  };
}

/**
 * A model folder (HF/transformers.js layout, or holding prunelens.json) or a manifest JSON file.
 * A prunelens.json in a folder wins over the HF layout, so a folder can override what is inferred.
 */
export function resolveModel(pathArg: string): ResolvedModel {
  const path = resolve(pathArg);
  if (!existsSync(path)) throw new InputError(`Model not found: ${pathArg}.`);
  if (statSync(path).isDirectory()) {
    const manifest = join(path, MANIFEST_FILE);
    return existsSync(manifest) ? resolveManifest(manifest) : resolveHfFolder(path);
  }
  if (path.toLowerCase().endsWith('.json')) return resolveManifest(path);
  if (path.toLowerCase().endsWith('.onnx')) {
    throw new InputError(`${pathArg} is a bare ONNX file: point --model at its folder (Hugging Face layout) or at a ${MANIFEST_FILE} manifest describing it.`);
  }
  throw new InputError(`${pathArg} is neither a model folder nor a ${MANIFEST_FILE} manifest.`);
}
