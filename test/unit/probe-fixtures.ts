// Shared by the probe-*.test.ts files: synthetic scenes in CLIP-normalised tensor form and ONNX runners.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../models/onnx/builder.ts';
import { generateProbe } from '../../models/probe/generate.ts';

export const SIZE = 336;
export const GRID = 24;
export const N = GRID * GRID;
const MEAN = [0.48145466, 0.4578275, 0.40821073];
const STD = [0.26862954, 0.26130258, 0.27577711];

/** An RGB image in [0,1], channel-planar [3, SIZE, SIZE]. */
export class Scene {
  readonly rgb = new Float32Array(3 * SIZE * SIZE);

  set(y: number, x: number, c: readonly number[]): void {
    for (let k = 0; k < 3; k++) this.rgb[k * SIZE * SIZE + y * SIZE + x] = c[k];
  }

  /** Fill with a colour plus seeded uniform noise of ±amp per pixel (same on all channels: grey texture). */
  background(c: readonly number[], amp: number, seed = 7): this {
    const rnd = mulberry32(seed);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const n = (rnd() * 2 - 1) * amp;
        this.set(y, x, c.map((v) => Math.min(1, Math.max(0, v + n))));
      }
    }
    return this;
  }

  rect(y0: number, x0: number, y1: number, x1: number, c: readonly number[]): this {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) this.set(y, x, c);
    return this;
  }

  disc(cy: number, cx: number, r: number, c: readonly number[]): this {
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) if ((y + 0.5 - cy) ** 2 + (x + 0.5 - cx) ** 2 <= r * r) this.set(y, x, c);
    }
    return this;
  }

  /** Pixels → CLIP-normalised pixel_values [1,3,336,336]. */
  tensor(): ort.Tensor {
    const out = new Float32Array(this.rgb.length);
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < SIZE * SIZE; i++) out[k * SIZE * SIZE + i] = (this.rgb[k * SIZE * SIZE + i] - MEAN[k]) / STD[k];
    }
    return new ort.Tensor('float32', out, [1, 3, SIZE, SIZE]);
  }
}

export const RED = [0.85, 0.08, 0.08];
export const BLUE = [0.1, 0.2, 0.85];
export const GREY = [0.5, 0.5, 0.5];

/** The standard test scene: textured grey, a red square at patch rows/cols 3..8, a blue disc centred at (238, 238). */
export function twoObjectScene(): { scene: Scene; square: Set<number>; disc: Set<number>; touched: Set<number> } {
  const scene = new Scene().background(GREY, 0.12).rect(42, 42, 126, 126, RED).disc(238, 238, 50, BLUE);
  const square = new Set<number>();
  const disc = new Set<number>();
  const touched = new Set<number>(); // patches with any object pixel
  for (let r = 0; r < GRID; r++) {
    for (let c = 0; c < GRID; c++) {
      const i = r * GRID + c;
      if (r >= 3 && r < 9 && c >= 3 && c < 9) square.add(i);
      if ((r * 14 + 7 - 238) ** 2 + (c * 14 + 7 - 238) ** 2 <= 50 * 50) disc.add(i);
      // nearest point of the patch to the disc centre
      const ny = Math.max(r * 14, Math.min(238, r * 14 + 14));
      const nx = Math.max(c * 14, Math.min(238, c * 14 + 14));
      if (square.has(i) || (ny - 238) ** 2 + (nx - 238) ** 2 < 50 * 50) touched.add(i);
    }
  }
  return { scene, square, disc, touched };
}

let generated: string | null = null;
/** Generate the probe once per test process into a temp dir; returns the folder. */
export function probeDir(): string {
  if (!generated) {
    generated = mkdtempSync(join(tmpdir(), 'prunelens-probe-'));
    generateProbe(generated);
  }
  return generated;
}

export interface VisionOut {
  features: Float32Array;
  d: number;
  cls: Float32Array;
  clsAttn: Float32Array;
  heads: number;
  keys: Float32Array;
  joint: Float32Array;
  dc: number;
}

const sessions = new Map<string, Promise<ort.InferenceSession>>();
function session(file: string): Promise<ort.InferenceSession> {
  let s = sessions.get(file);
  if (!s) {
    s = ort.InferenceSession.create(join(probeDir(), file), { intraOpNumThreads: 1 });
    sessions.set(file, s);
  }
  return s;
}

export async function runVision(scene: Scene): Promise<VisionOut> {
  const s = await session('onnx/vision_model.onnx');
  const out = await s.run({ pixel_values: scene.tensor() });
  const f = out.patch_features;
  return {
    features: f.data as Float32Array,
    d: f.dims[2],
    cls: out.cls_features.data as Float32Array,
    clsAttn: out.cls_attn.data as Float32Array,
    heads: out.cls_attn.dims[1],
    keys: out.keys.data as Float32Array,
    joint: out.image_joint.data as Float32Array,
    dc: out.image_joint.dims[2],
  };
}

export async function runText(ids: number[]): Promise<{ embeds: Float32Array; cue: Float32Array }> {
  const s = await session('onnx/text_model.onnx');
  const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]) });
  return { embeds: out.text_embeds.data as Float32Array, cue: out.cue.data as Float32Array };
}
