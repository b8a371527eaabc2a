// The model's view of an image: decoded, resized and centre-cropped exactly as the encoder's input
// (before rescale/normalise), so token (r, c) covers the same pixels in every picture PruneLens draws.
import sharp from 'sharp';
import { decodeImage, loadPreprocessorConfig, resizeAndCrop, type DecodeLimits } from '../runtime/image/index.ts';
import type { RgbImage } from './overlay.ts';

export async function modelViewImage(image: string, preprocessorPath: string, limits?: DecodeLimits): Promise<RgbImage> {
  return resizeAndCrop(await decodeImage(image, limits), loadPreprocessorConfig(preprocessorPath));
}

/** A neutral canvas for bundles without an image: the heatmap alone. */
export function blankView(width: number, height: number): RgbImage {
  return { width, height, rgb: new Uint8Array(width * height * 3).fill(128) };
}

/** Enlarges small views (bicubic) so token outlines stay visible; about 672 px on the long side. */
export async function enlargeView(v: RgbImage, target = 672): Promise<RgbImage> {
  const scale = Math.max(1, Math.floor(target / Math.max(v.width, v.height)));
  if (scale === 1) return v;
  const width = v.width * scale;
  const height = v.height * scale;
  const buf = await sharp(v.rgb, { raw: { width: v.width, height: v.height, channels: 3 } }).resize(width, height, { kernel: 'cubic' }).raw().toBuffer();
  return { width, height, rgb: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
}

export async function encodePng(v: RgbImage): Promise<Buffer> {
  return sharp(v.rgb, { raw: { width: v.width, height: v.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
