// Decoded RGB → the float32 pixel tensor [1, 3, H, W] a CLIP-style vision tower takes, step for step
// as transformers' CLIPImageProcessor: resize (Pillow, on uint8) → centre crop (zero padding when the
// image is smaller) → rescale (float64 product stored as float32) → normalise (float32 arithmetic).
import type { DecodedImage } from './decode.ts';
import type { PreprocessorConfig } from './preprocessor-config.ts';
import { resizeRgb8 } from './resize.ts';

export interface PixelTensor {
  data: Float32Array;
  /** [1, 3, height, width] */
  shape: [1, 3, number, number];
}

/**
 * Output (height, width) of the resize step, like transformers' get_resize_output_image_size: the short
 * side becomes `shortestEdge` and the long side int(shortestEdge · long / short) (truncated).
 */
export function resizeOutputSize(width: number, height: number, config: PreprocessorConfig): { height: number; width: number } {
  const target = config.size;
  if (target.kind === 'exact') return { height: target.height, width: target.width };
  const s = target.shortestEdge;
  if (width <= height) return { width: s, height: Math.trunc((s * height) / width) };
  return { height: s, width: Math.trunc((s * width) / height) };
}

/** Python's floor division, for crop offsets that go negative when padding. */
function floorDiv(a: number, b: number): number {
  return Math.floor(a / b);
}

/**
 * Centre crop of interleaved RGB like transformers' center_crop: offsets (orig − crop) // 2; when the
 * crop is larger than the image it pads with zeros, placing the image at ceil((new − orig) / 2).
 */
export function centerCropRgb(rgb: Uint8Array, width: number, height: number, cropH: number, cropW: number): Uint8Array {
  let top = floorDiv(height - cropH, 2);
  let left = floorDiv(width - cropW, 2);
  const out = new Uint8Array(cropH * cropW * 3);
  let padTop = 0;
  let padLeft = 0;
  if (top < 0 || left < 0) {
    padTop = Math.ceil((Math.max(cropH, height) - height) / 2);
    padLeft = Math.ceil((Math.max(cropW, width) - width) / 2);
    top += padTop;
    left += padLeft;
  }
  // Position (y, x) of the crop maps to padded row top + y, i.e. source row top + y − padTop.
  for (let y = 0; y < cropH; y++) {
    const sy = top + y - padTop;
    if (sy < 0 || sy >= height) continue;
    for (let x = 0; x < cropW; x++) {
      const sx = left + x - padLeft;
      if (sx < 0 || sx >= width) continue;
      const o = (y * cropW + x) * 3;
      const i = (sy * width + sx) * 3;
      out[o] = rgb[i];
      out[o + 1] = rgb[i + 1];
      out[o + 2] = rgb[i + 2];
    }
  }
  return out;
}

/** The geometric steps of the pipeline (resize, centre crop) on 8-bit RGB: the pixels the model sees. */
export function resizeAndCrop(image: { width: number; height: number; rgb: Uint8Array }, config: PreprocessorConfig): { width: number; height: number; rgb: Uint8Array } {
  let { width, height } = image;
  let rgb = image.rgb;
  if (config.doResize) {
    const size = resizeOutputSize(width, height, config);
    rgb = resizeRgb8(rgb, width, height, size.width, size.height, config.resample);
    width = size.width;
    height = size.height;
  }
  if (config.doCenterCrop) {
    const { height: ch, width: cw } = config.cropSize;
    rgb = centerCropRgb(rgb, width, height, ch, cw);
    width = cw;
    height = ch;
  }
  return { width, height, rgb };
}

/** The full CLIPImageProcessor pipeline on one decoded image. */
export function preprocess(image: DecodedImage, config: PreprocessorConfig): PixelTensor {
  const { width, height, rgb } = resizeAndCrop(image, config);
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  const f = config.rescaleFactor;
  const mean = config.imageMean.map(Math.fround);
  const std = config.imageStd.map(Math.fround);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      let v = rgb[p * 3 + c];
      if (config.doRescale) v = Math.fround(v * f);
      if (config.doNormalize) v = Math.fround(Math.fround(v - mean[c]) / std[c]);
      data[c * plane + p] = v;
    }
  }
  return { data, shape: [1, 3, height, width] };
}
