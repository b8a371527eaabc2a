// `preprocessor_config.json` → a fully resolved preprocessing recipe, with transformers'
// CLIPImageProcessor defaults and its size conventions (`size` int = shortest edge, `crop_size` int = square).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../../errors.ts';
import type { ResampleCode } from './resize.ts';

export type ResizeTarget = { kind: 'shortest_edge'; shortestEdge: number } | { kind: 'exact'; height: number; width: number };

export interface PreprocessorConfig {
  doResize: boolean;
  size: ResizeTarget;
  /** PIL resample code: 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming. */
  resample: ResampleCode;
  doCenterCrop: boolean;
  cropSize: { height: number; width: number };
  doRescale: boolean;
  rescaleFactor: number;
  doNormalize: boolean;
  imageMean: [number, number, number];
  imageStd: [number, number, number];
  /** `image_processor_type` from the file, or "CLIPImageProcessor" when absent. */
  processorType: string;
  /** Where it was read from (for messages and provenance). */
  source: string;
}

const CLIP_MEAN: [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
const CLIP_STD: [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

type Json = { [k: string]: unknown };

function bad(source: string, what: string): InputError {
  return new InputError(`${source}: ${what}.`);
}

function positiveInt(v: unknown, source: string, key: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) throw bad(source, `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(v: unknown, fallback: boolean, source: string, key: string): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') throw bad(source, `"${key}" must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function triple(v: unknown, fallback: [number, number, number], source: string, key: string): [number, number, number] {
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'number') return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return [v[0], v[1], v[2]];
  throw bad(source, `"${key}" must be one number or three numbers, got ${JSON.stringify(v)}`);
}

/** transformers' size dict rules: an int means a square when `squareInt`, else the shortest edge. */
function sizeTarget(v: unknown, squareInt: boolean, source: string, key: string): ResizeTarget {
  if (typeof v === 'number') {
    const n = positiveInt(v, source, key);
    return squareInt ? { kind: 'exact', height: n, width: n } : { kind: 'shortest_edge', shortestEdge: n };
  }
  if (Array.isArray(v) && v.length === 2) {
    return { kind: 'exact', height: positiveInt(v[0], source, key), width: positiveInt(v[1], source, key) };
  }
  if (v && typeof v === 'object') {
    const o = v as Json;
    if (o.shortest_edge !== undefined) return { kind: 'shortest_edge', shortestEdge: positiveInt(o.shortest_edge, source, `${key}.shortest_edge`) };
    if (o.height !== undefined && o.width !== undefined) {
      return { kind: 'exact', height: positiveInt(o.height, source, `${key}.height`), width: positiveInt(o.width, source, `${key}.width`) };
    }
  }
  throw bad(source, `"${key}" must be an int, {"shortest_edge": n} or {"height": h, "width": w}, got ${JSON.stringify(v)}`);
}

/** Resolve a parsed preprocessor_config.json object. `source` names it in error messages. */
export function parsePreprocessorConfig(json: unknown, source = 'preprocessor_config.json'): PreprocessorConfig {
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw bad(source, 'expected a JSON object');
  const o = json as Json;
  const processorType = typeof o.image_processor_type === 'string' ? o.image_processor_type : 'CLIPImageProcessor';
  // SigLIP-style processors resize straight to height×width and never crop; CLIP's defaults otherwise.
  const siglip = /siglip/i.test(processorType);
  const size = o.size === undefined ? (siglip ? sizeTarget(224, true, source, 'size') : sizeTarget(224, false, source, 'size')) : sizeTarget(o.size, siglip, source, 'size');
  const resample = o.resample ?? (siglip ? 2 : 3);
  if (resample === 0) throw bad(source, '"resample": 0 (nearest) is not supported; use 2 (bilinear) or 3 (bicubic)');
  if (typeof resample !== 'number' || ![1, 2, 3, 4, 5].includes(resample)) throw bad(source, `"resample" must be a PIL code 1–5, got ${JSON.stringify(resample)}`);
  const crop = o.crop_size === undefined ? { kind: 'exact' as const, height: 224, width: 224 } : sizeTarget(o.crop_size, true, source, 'crop_size');
  if (crop.kind !== 'exact') throw bad(source, '"crop_size" must give height and width');
  const doCenterCrop = bool(o.do_center_crop, !siglip, source, 'do_center_crop');
  const rescaleFactor = o.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !Number.isFinite(rescaleFactor)) throw bad(source, '"rescale_factor" must be a number');
  const std = triple(o.image_std, siglip ? [0.5, 0.5, 0.5] : CLIP_STD, source, 'image_std');
  if (std.some((s) => s === 0)) throw bad(source, '"image_std" must not contain 0');
  return {
    doResize: bool(o.do_resize, true, source, 'do_resize'),
    size,
    resample: resample as ResampleCode,
    doCenterCrop,
    cropSize: { height: crop.height, width: crop.width },
    doRescale: bool(o.do_rescale, true, source, 'do_rescale'),
    rescaleFactor,
    doNormalize: bool(o.do_normalize, true, source, 'do_normalize'),
    imageMean: triple(o.image_mean, siglip ? [0.5, 0.5, 0.5] : CLIP_MEAN, source, 'image_mean'),
    imageStd: std,
    processorType,
    source,
  };
}

/** Read `<folder>/preprocessor_config.json` (or a path to the JSON file itself). */
export function loadPreprocessorConfig(folderOrFile: string): PreprocessorConfig {
  const path = folderOrFile.endsWith('.json') ? folderOrFile : join(folderOrFile, 'preprocessor_config.json');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InputError(code === 'ENOENT' ? `No preprocessor_config.json found at ${path}.` : `Cannot read ${path} (${code ?? String(err)}).`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InputError(`${path} is not valid JSON (${err instanceof Error ? err.message : String(err)}).`);
  }
  return parsePreprocessorConfig(json, path);
}
