// Synthetic test scenes: shapes of known colours at known positions on a textured background, for
// semantic tests through the whole stack (image file → ONNX encoder → pruning methods).
import sharp from 'sharp';
import { mulberry32 } from '../../extension/core/numeric/prng.ts';

export type Rgb = readonly [number, number, number];

export interface SceneShape {
  name: string;
  kind: 'square' | 'disc';
  colour: Rgb;
  /** Square: top-left corner and side; disc: centre and radius (pixels of the scene). */
  x: number;
  y: number;
  size: number;
}

export interface Scene {
  width: number;
  height: number;
  shapes: SceneShape[];
  /** Background palette: muted tones the shapes' colour names do not describe. */
  background: readonly Rgb[];
  seed: number;
}

function inside(s: SceneShape, px: number, py: number): boolean {
  if (s.kind === 'square') return px >= s.x && px < s.x + s.size && py >= s.y && py < s.y + s.size;
  const dx = px + 0.5 - s.x;
  const dy = py + 0.5 - s.y;
  return dx * dx + dy * dy <= s.size * s.size;
}

/** Interleaved RGB of the scene: a noisy two-tone weave for the background, shapes with slight noise. */
export function renderScene(scene: Scene): Uint8Array {
  const { width, height } = scene;
  const rnd = mulberry32(scene.seed);
  const rgb = new Uint8Array(width * height * 3);
  const bg = scene.background;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      const shape = scene.shapes.find((s) => inside(s, x, y));
      // Background: diagonal weave of the palette (texture at several scales) plus pixel noise.
      const base = shape ? shape.colour : bg[(Math.floor((x + y) / 9) + Math.floor((x - y + 1000) / 23)) % bg.length];
      const amp = shape ? 12 : 28;
      for (let c = 0; c < 3; c++) rgb[o + c] = Math.max(0, Math.min(255, Math.round(base[c] + (rnd() - 0.5) * amp)));
    }
  }
  return rgb;
}

export async function writeScenePng(scene: Scene, path: string): Promise<void> {
  await sharp(renderScene(scene), { raw: { width: scene.width, height: scene.height, channels: 3 } }).png().toFile(path);
}

/**
 * Tokens (row-major over a gh×gw grid on the scene, which must be exactly what the model sees) that are
 * at least `minCover` covered by the shape.
 */
export function shapeTokens(scene: Scene, shape: SceneShape, gh: number, gw: number, minCover = 0.5): Set<number> {
  const ph = scene.height / gh;
  const pw = scene.width / gw;
  const out = new Set<number>();
  for (let r = 0; r < gh; r++) {
    for (let c = 0; c < gw; c++) {
      let hit = 0;
      let all = 0;
      for (let y = Math.floor(r * ph); y < Math.floor((r + 1) * ph); y++) {
        for (let x = Math.floor(c * pw); x < Math.floor((c + 1) * pw); x++) {
          all++;
          if (inside(shape, x, y)) hit++;
        }
      }
      if (hit / all >= minCover) out.add(r * gw + c);
    }
  }
  return out;
}
