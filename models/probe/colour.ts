/**
 * sRGB → Oklab (Björn Ottosson's perceptual space, D65), the probe's colour space; ×100 so that L is 0..100
 * and a, b are roughly −30..+30. The same constants feed the ONNX graph (vision.ts) and this scalar
 * reference, so prototypes and pixels are measured alike. Oklab keeps blue apart from purple, which
 * CIE L*a*b* does not.
 */

/** Linear sRGB → cone-like LMS. */
export const LINEAR_TO_LMS: readonly (readonly number[])[] = [
  [0.4122214708, 0.5363325363, 0.0514459929],
  [0.2119034982, 0.6806995451, 0.1073969566],
  [0.0883024619, 0.2817188376, 0.6299787005],
];
/** Cube-rooted LMS → L, a, b (unit scale). */
export const LMS_TO_OKLAB: readonly (readonly number[])[] = [
  [0.2104542553, 0.793617785, -0.0040720468],
  [1.9779984951, -2.428592205, 0.4505937099],
  [0.0259040371, 0.7827717662, -0.808675766],
];
export const OKLAB_SCALE = 100;
export const SRGB_KNEE = 0.04045;

export function srgbToLinear(c: number): number {
  return c <= SRGB_KNEE ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
}

const apply = (m: readonly (readonly number[])[], v: number[]): number[] => m.map((row) => row[0] * v[0] + row[1] * v[1] + row[2] * v[2]);

/** sRGB components in [0, 1] → [L, a, b] × 100. */
export function srgbToOklab(r: number, g: number, b: number): [number, number, number] {
  const lms = apply(LINEAR_TO_LMS, [r, g, b].map(srgbToLinear)).map((x) => Math.cbrt(Math.max(x, 0)));
  const [l, a, bb] = apply(LMS_TO_OKLAB, lms).map((x) => x * OKLAB_SCALE);
  return [l, a, bb];
}
