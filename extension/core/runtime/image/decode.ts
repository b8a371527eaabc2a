// Image file → 8-bit RGB, matching what Python users get from `PIL.Image.open(path)` followed by
// transformers' RGB conversion. Choices (all Pillow's behaviour unless said otherwise):
// - EXIF orientation is NOT applied: Pillow's open/convert and CLIPImageProcessor ignore it.
// - Embedded ICC profiles are ignored (raw decoded values), as Pillow does.
// - Alpha is composited on white (transformers' alpha-aware convert_to_rgb). Note: CLIPImageProcessor's
//   plain `convert("RGB")` drops alpha instead; both agree on every opaque image.
// - CMYK JPEGs use Pillow's naive CMYK → RGB formula, not a colour-managed conversion.
// - 16-bit samples keep their high byte, as Pillow does for 16-bit colour PNGs. Deviation: Pillow clips
//   16-bit greyscale (mode "I") to 255, turning most of the image white; we use the high byte there too.
// - GIF / animated WebP: first frame only.
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp, { type Metadata } from 'sharp';
import { InputError } from '../../errors.ts';
import { decodeBmp, isBmp, readBmpHeader } from './bmp.ts';
import { cmykToRgb, highBytes, toRgb } from './channels.ts';

/** Decoded image: interleaved 8-bit RGB, row-major, `width * height * 3` bytes. */
export interface DecodedImage {
  width: number;
  height: number;
  rgb: Uint8Array;
  /** Container format as detected (png, jpeg, gif, webp, bmp, …). */
  format: string;
}

export interface DecodeLimits {
  /** Refuse images with more pixels than this many megapixels (default 50). */
  maxMegapixels?: number;
  /** Refuse images whose shorter side is below this many pixels, i.e. smaller than one patch (default 14). */
  minSide?: number;
}

export const DEFAULT_DECODE_LIMITS: Required<DecodeLimits> = { maxMegapixels: 50, minSide: 14 };

/** Size check from header dimensions, before any pixel is decoded. */
export function checkImageSize(width: number, height: number, name: string, limits: DecodeLimits = {}): void {
  const maxMp = limits.maxMegapixels ?? DEFAULT_DECODE_LIMITS.maxMegapixels;
  const minSide = limits.minSide ?? DEFAULT_DECODE_LIMITS.minSide;
  const mp = (width * height) / 1e6;
  if (mp > maxMp) {
    throw new InputError(
      `${name} is ${width}×${height} (${mp.toFixed(1)} megapixels), above the ${maxMp}-megapixel limit; downscale it or raise the limit.`,
    );
  }
  if (Math.min(width, height) < minSide) {
    throw new InputError(`${name} is ${width}×${height} pixels, smaller than one ${minSide}-pixel patch; use a larger image.`);
  }
}

function decodeFailure(name: string, err: unknown): InputError {
  const first = (err instanceof Error ? err.message : String(err)).split('\n')[0];
  if (/unsupported image format/i.test(first)) {
    return new InputError(`${name} is not an image PruneLens can read (PNG, JPEG, GIF, WebP or BMP).`);
  }
  if (/premature end|truncated|unexpected end|end of (file|stream)|not enough data/i.test(first)) {
    return new InputError(`${name} is truncated or corrupt (the image data ends early): ${first}`);
  }
  return new InputError(`${name} could not be decoded: ${first}`);
}

async function decodeWithSharp(bytes: Uint8Array, name: string, limits: DecodeLimits): Promise<DecodedImage> {
  const maxPixels = Math.ceil((limits.maxMegapixels ?? DEFAULT_DECODE_LIMITS.maxMegapixels) * 1e6);
  // failOn 'truncated' turns a cut-off file into an error instead of a silently grey-filled image.
  const options = { failOn: 'truncated' as const, limitInputPixels: maxPixels, ignoreIcc: true, pages: 1, page: 0 };
  let meta: Metadata;
  try {
    // Header only: our own size check below gives the clearer message, so sharp's limit is off here.
    meta = await sharp(bytes, { ...options, limitInputPixels: false }).metadata();
  } catch (err) {
    throw decodeFailure(name, err);
  }
  const width = meta.width;
  const height = meta.pageHeight ?? meta.height;
  checkImageSize(width, height, name, limits);
  try {
    let pipeline = sharp(bytes, options);
    const pixels = width * height;
    if (meta.space === 'cmyk') {
      // Keep the decoder's CMYK samples (no ICC round trip) and convert like Pillow.
      const { data, info } = await pipeline.pipelineColourspace('cmyk').toColourspace('cmyk').raw().toBuffer({ resolveWithObject: true });
      if (info.channels !== 4) throw new Error(`expected 4 CMYK channels, got ${info.channels}`);
      return { width, height, rgb: cmykToRgb(new Uint8Array(data.buffer, data.byteOffset, data.length), pixels), format: meta.format };
    }
    const sixteen = meta.depth === 'ushort';
    // 8-bit grey goes through 'srgb' (plain band copy): libvips' 'b-w' output drops the alpha band.
    pipeline = pipeline.toColourspace(sixteen ? (meta.space === 'grey16' ? 'grey16' : 'rgb16') : 'srgb');
    const { data, info } = await pipeline.raw({ depth: sixteen ? 'ushort' : 'uchar' }).toBuffer({ resolveWithObject: true });
    const samples = sixteen
      ? highBytes(new Uint16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.length)))
      : new Uint8Array(data.buffer, data.byteOffset, data.length);
    if (info.width !== width || info.height !== height) {
      throw new Error(`decoder returned ${info.width}×${info.height}, header said ${width}×${height}`);
    }
    return { width, height, rgb: toRgb(samples, pixels, info.channels), format: meta.format };
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw decodeFailure(name, err);
  }
}

/**
 * Decode an image file (path) or its bytes to 8-bit RGB. Size limits are checked from the header first.
 * Throws InputError with one clear sentence for unreadable, truncated, too large or too small images.
 */
export async function decodeImage(source: string | Uint8Array, limits: DecodeLimits = {}, displayName?: string): Promise<DecodedImage> {
  let bytes: Uint8Array;
  let name = displayName ?? 'The image';
  if (typeof source === 'string') {
    name = displayName ?? basename(source);
    try {
      bytes = await readFile(source);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InputError(code === 'ENOENT' ? `Image file not found: ${source}.` : `Cannot read image file ${source} (${code ?? String(err)}).`);
    }
  } else {
    bytes = source;
  }
  if (bytes.length === 0) throw new InputError(`${name} is empty (0 bytes).`);
  if (isBmp(bytes)) {
    const h = readBmpHeader(bytes, name);
    checkImageSize(h.width, h.height, name, limits);
    const bmp = decodeBmp(bytes, name);
    return { width: bmp.width, height: bmp.height, rgb: toRgb(bmp.data, bmp.width * bmp.height, bmp.channels), format: 'bmp' };
  }
  return decodeWithSharp(bytes, name, limits);
}
