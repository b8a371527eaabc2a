// Pillow-compatible resampling of 8-bit RGB images (what `PIL.Image.resize` does to the uint8 image that
// transformers hands it). Re-derived from Pillow's documented behaviour: separable convolution, support
// widened by the downscale factor (antialiasing), weights normalised per output pixel, then quantised to
// 22-bit fixed point; horizontal pass first, its result rounded to uint8, then the vertical pass.

/** PIL resample codes as they appear in `preprocessor_config.json` (`resample`). */
export const RESAMPLE = { nearest: 0, lanczos: 1, bilinear: 2, bicubic: 3, box: 4, hamming: 5 } as const;
export type ResampleCode = 1 | 2 | 3 | 4 | 5;

interface Filter {
  /** Half-width of the kernel at scale 1. */
  support: number;
  weight(x: number): number;
}

function sinc(x: number): number {
  if (x === 0) return 1;
  const px = x * Math.PI;
  return Math.sin(px) / px;
}

const FILTERS: Record<ResampleCode, Filter> = {
  // Box: half-open interval (-0.5, 0.5] as in Pillow.
  4: { support: 0.5, weight: (x) => (x > -0.5 && x <= 0.5 ? 1 : 0) },
  2: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      return a < 1 ? 1 - a : 0;
    },
  },
  5: {
    support: 1,
    weight: (x) => {
      const a = Math.abs(x);
      if (a === 0) return 1;
      if (a >= 1) return 0;
      const px = a * Math.PI;
      return (Math.sin(px) / px) * (0.54 + 0.46 * Math.cos(px));
    },
  },
  // Keys cubic with a = -0.5, written in the same operation order as Pillow so doubles agree.
  3: {
    support: 2,
    weight: (x) => {
      const a = -0.5;
      const t = Math.abs(x);
      if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
      if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
      return 0;
    },
  },
  1: { support: 3, weight: (x) => (x >= -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0) },
};

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 1 << PRECISION_BITS;
const HALF = 1 << (PRECISION_BITS - 1);

/** Per output pixel: first input index, tap count, and fixed-point weights (ksize per pixel). */
interface Coefficients {
  ksize: number;
  start: Int32Array;
  count: Int32Array;
  weights: Int32Array;
}

/** Coefficients for resampling `inSize` samples to `outSize` over the whole input range. */
export function computeCoefficients(inSize: number, outSize: number, code: ResampleCode): Coefficients {
  const filter = FILTERS[code];
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filter.support * filterScale;
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  const inv = 1 / filterScale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const xmax = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < xmax; x++) {
      const w = filter.weight((x + xmin - center + 0.5) * inv);
      k[x] = w;
      sum += w;
    }
    for (let x = 0; x < xmax; x++) {
      const w = sum !== 0 ? k[x] / sum : k[x];
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { ksize, start, count, weights };
}

function clip8(acc: number): number {
  const v = acc >> PRECISION_BITS; // arithmetic shift = floor, as in Pillow
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

function resampleHorizontal(src: Uint8Array, width: number, height: number, outW: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(outW * height * 3);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let xx = 0; xx < outW; xx++) {
      const base = xx * c.ksize;
      const n = c.count[xx];
      let p = row + c.start[xx] * 3;
      let r = HALF;
      let g = HALF;
      let b = HALF;
      for (let x = 0; x < n; x++, p += 3) {
        const w = c.weights[base + x];
        r += src[p] * w;
        g += src[p + 1] * w;
        b += src[p + 2] * w;
      }
      const o = (y * outW + xx) * 3;
      out[o] = clip8(r);
      out[o + 1] = clip8(g);
      out[o + 2] = clip8(b);
    }
  }
  return out;
}

function resampleVertical(src: Uint8Array, width: number, outH: number, c: Coefficients): Uint8Array {
  const out = new Uint8Array(width * outH * 3);
  const stride = width * 3;
  for (let yy = 0; yy < outH; yy++) {
    const base = yy * c.ksize;
    const n = c.count[yy];
    const first = c.start[yy] * stride;
    for (let i = 0; i < stride; i++) {
      let acc = HALF;
      let p = first + i;
      for (let y = 0; y < n; y++, p += stride) acc += src[p] * c.weights[base + y];
      out[yy * stride + i] = clip8(acc);
    }
  }
  return out;
}

/**
 * Resize interleaved 8-bit RGB like `PIL.Image.resize((outW, outH), resample)` with no box and no
 * reducing_gap. Each pass runs only when its dimension changes, and rounds to uint8 like Pillow.
 */
export function resizeRgb8(
  rgb: Uint8Array,
  width: number,
  height: number,
  outW: number,
  outH: number,
  code: ResampleCode,
): Uint8Array {
  if (rgb.length !== width * height * 3) throw new Error(`resizeRgb8: ${rgb.length} bytes for ${width}x${height} RGB`);
  if (!(outW >= 1 && outH >= 1)) throw new Error(`resizeRgb8: invalid output size ${outW}x${outH}`);
  let data = rgb;
  let w = width;
  if (outW !== width) {
    data = resampleHorizontal(data, w, height, outW, computeCoefficients(width, outW, code));
    w = outW;
  }
  if (outH !== height) data = resampleVertical(data, w, outH, computeCoefficients(height, outH, code));
  return data === rgb ? rgb.slice() : data;
}
