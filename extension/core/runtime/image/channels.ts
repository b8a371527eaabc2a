// Channel conversions to 8-bit RGB with Pillow's integer arithmetic, so decoded pixels equal what
// `Image.open(...)` + transformers' RGB conversion give in Python.

/**
 * Composite one 8-bit sample with alpha `a` over white, exactly like Pillow's `Image.alpha_composite`
 * with an opaque white background (7-bit fixed-point blend, then a rounded division by 255).
 */
export function overWhite(value: number, a: number): number {
  if (a === 0) return 255;
  // With an opaque background, Pillow's coefficients reduce to a·128 and (255 − a)·128.
  const tmp = 128 * (value * a + 255 * (255 - a)) + (0x80 << 7);
  return (((tmp >>> 8) + tmp) >>> 8) >>> 7;
}

/** Pillow's CMYK → RGB: each channel is (255 − K) − round((255 − K)·C / 255), clipped. */
export function cmykToRgb(cmyk: Uint8Array, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const nk = 255 - cmyk[4 * i + 3];
    for (let c = 0; c < 3; c++) {
      // MULDIV255 in Pillow: t = a·b + 128; (t + (t >> 8)) >> 8.
      const t = cmyk[4 * i + c] * nk + 128;
      const v = nk - ((t + (t >> 8)) >> 8);
      out[3 * i + c] = v < 0 ? 0 : v;
    }
  }
  return out;
}

/**
 * Interleaved 8-bit samples with 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA) channels → RGB.
 * Grey is replicated; alpha is composited on white.
 */
export function toRgb(samples: Uint8Array, pixels: number, channels: number): Uint8Array {
  if (channels === 3) return samples.length === pixels * 3 ? samples : samples.slice(0, pixels * 3);
  const out = new Uint8Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    let r: number;
    let g: number;
    let b: number;
    if (channels === 1 || channels === 2) {
      r = g = b = samples[i * channels];
      if (channels === 2) r = g = b = overWhite(r, samples[i * 2 + 1]);
    } else if (channels === 4) {
      const a = samples[4 * i + 3];
      r = overWhite(samples[4 * i], a);
      g = overWhite(samples[4 * i + 1], a);
      b = overWhite(samples[4 * i + 2], a);
    } else {
      throw new Error(`toRgb: unsupported channel count ${channels}`);
    }
    out[3 * i] = r;
    out[3 * i + 1] = g;
    out[3 * i + 2] = b;
  }
  return out;
}

/** 16-bit samples → 8-bit by keeping the high byte, as Pillow's PNG reader does for 16-bit colour. */
export function highBytes(samples: Uint16Array): Uint8Array {
  const out = new Uint8Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] >>> 8;
  return out;
}
