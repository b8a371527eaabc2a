import { GraphBuilder } from '../onnx/builder.ts';
import { LINEAR_TO_LMS, LMS_TO_OKLAB, OKLAB_SCALE, SRGB_KNEE, srgbToOklab } from './colour.ts';
import {
  CLIP_MEAN, CLIP_STD, CLS_ATTN_GAIN, CLS_ATTN_KNEE, CLS_HEADS, COLOUR_PROTOTYPES, COLOUR_TAU, COLOUR_TERMS, CONCEPT_AXES,
  EDGE_HALF, EDGE_LAB_SCALE, FEATURE_DIM, GRID, IMAGE_SIZE, KEY_COLUMNS, N_PATCHES, PATCH, SAT_FULL,
  TEXTURE_HALF, channelIndex, featureVector,
} from './concepts.ts';
import { Ops } from './ops.ts';

/** Output tensor names of the vision tower (the manifest lists them). */
export const VISION_OUTPUTS = {
  features: 'patch_features',
  cls: 'cls_features',
  clsAttn: 'cls_attn',
  keys: 'keys',
  imageJoint: 'image_joint',
} as const;

/** pixel_values (CLIP-normalised) → Oklab ×100 per pixel [1,3,H,W]. */
function pixelsToOklab(o: Ops, pixels: string): string {
  const rgb01 = o.add(o.mul(pixels, o.constF('clip_std', [1, 3, 1, 1], CLIP_STD)), o.constF('clip_mean', [1, 3, 1, 1], CLIP_MEAN));
  const rgb = o.op('Clip', [rgb01, o.scalar(0), o.scalar(1)]);
  // sRGB transfer function, both branches evaluated, Where picks per pixel.
  const low = o.mulS(rgb, 1 / 12.92);
  const high = o.op('Pow', [o.mulS(o.addS(rgb, 0.055), 1 / 1.055), o.scalar(2.4)]);
  const linear = o.op('Where', [o.op('LessOrEqual', [rgb, o.scalar(SRGB_KNEE)]), low, high]);
  const lms = o.max(o.conv1x1(linear, LINEAR_TO_LMS.map((r) => [...r])), o.scalar(0));
  const cbrt = o.op('Pow', [lms, o.scalar(1 / 3)]);
  return o.conv1x1(cbrt, LMS_TO_OKLAB.map((r) => r.map((v) => v * OKLAB_SCALE)));
}

/** Per-pixel soft colour-term memberships, averaged over each patch → [1,11,24,24]. */
function colourMemberships(o: Ops, lab: string): string {
  const protos: { term: number; lab: number[] }[] = [];
  COLOUR_TERMS.forEach((term, ti) => {
    for (const [r, g, b] of COLOUR_PROTOTYPES[term]) protos.push({ term: ti, lab: srgbToOklab(r / 255, g / 255, b / 255) });
  });
  // ‖x − p‖² = ‖x‖² − 2 p·x + ‖p‖²
  const cross = o.conv1x1(lab, protos.map((p) => p.lab.map((v) => -2 * v)), protos.map((p) => p.lab.reduce((s, v) => s + v * v, 0)));
  const d2 = o.unary('Relu', o.add(cross, o.reduce('ReduceSumSquare', lab, [1], 1)));
  const dist = o.unary('Sqrt', o.addS(d2, 1e-4));
  const perProto = o.op('Softmax', [o.mulS(dist, -1 / COLOUR_TAU)], { axis: 1 });
  const perTerm = o.conv1x1(perProto, COLOUR_TERMS.map((_, ti) => protos.map((p) => (p.term === ti ? 1 : 0))));
  return o.patchMean(perTerm, PATCH);
}

/** Directional derivative kernels (Sobel-type, unit gain on a ramp), one per edge orientation. */
function edgeKernels(): number[][] {
  const smooth = [1 / 4, 2 / 4, 1 / 4];
  const deriv = [-1 / 2, 0, 1 / 2];
  const kx = smooth.flatMap((s) => deriv.map((d) => s * d)); // d/dx: rows smooth, columns differentiate
  const ky = deriv.flatMap((d) => smooth.map((s) => d * s)); // d/dy (y down)
  const r = Math.SQRT1_2;
  return [
    ky, // edge_0: horizontal edges change along y
    kx.map((v, i) => r * (v + ky[i])), // edge_45: edges rising to the right change along (1, 1)
    kx, // edge_90: vertical edges change along x
    kx.map((v, i) => r * (v - ky[i])), // edge_135: edges falling to the right change along (1, −1)
  ];
}

/** Oriented edge energy per patch → [1,4,24,24]. `scaled` is Oklab [L, 2a, 2b] per pixel. */
function edgeEnergy(o: Ops, scaled: string): string {
  const padded = o.op('Pad', [scaled, o.constI('pads', [8], [0, 0, 1, 1, 0, 0, 1, 1])], { mode: 'edge' });
  const kernels = edgeKernels();
  const w = [0, 1, 2].flatMap(() => kernels.flat()); // group conv: 4 orientations per Lab channel
  const resp = o.op('Conv', [padded, o.constF('edge_w', [12, 1, 3, 3], w)], { kernel_shape: [3, 3], group: 3 });
  const energy = o.patchMean(o.square(resp), PATCH);
  // sum the three Lab channels per orientation (output channel c·4 + k)
  const sum = o.conv1x1(energy, [0, 1, 2, 3].map((k) => Array.from({ length: 12 }, (_, j) => (j % 4 === k ? 1 : 0))));
  return o.saturate(o.unary('Sqrt', sum), EDGE_HALF);
}

/** Colour standard deviation inside each patch → [1,1,24,24]. */
function textureMap(o: Ops, scaled: string): string {
  const mean = o.patchMean(scaled, PATCH);
  const meanSq = o.patchMean(o.square(scaled), PATCH);
  const variance = o.unary('Relu', o.reduceSum(o.sub(meanSq, o.square(mean)), [1], 1));
  return o.saturate(o.unary('Sqrt', variance), TEXTURE_HALF);
}

/** Constant row / col / radius channels [1,3,24,24]. */
function positionChannels(o: Ops): string {
  const values: number[] = [];
  const pos = (k: number): number => (k + 0.5) / GRID - 0.5;
  for (const ch of [0, 1, 2]) {
    for (let r = 0; r < GRID; r++) {
      for (let c = 0; c < GRID; c++) values.push(ch === 0 ? pos(r) : ch === 1 ? pos(c) : Math.hypot(pos(r), pos(c)));
    }
  }
  return o.constF('position', [1, 3, GRID, GRID], values);
}

/** Saliency: per head, Softmax over patches of the z-scored distance to the image mean → [1,H,N]. */
function clsAttention(o: Ops, features: string): string {
  const w = CLS_HEADS.map((h) => featureVector(h.weights));
  const weighted = o.mul(o.op('Unsqueeze', [features, o.constI('axes', [1], [1])]), o.constF('head_w', [1, w.length, 1, FEATURE_DIM], w.flat()));
  const centred = o.sub(weighted, o.reduce('ReduceMean', weighted, [2], 1));
  const score = o.reduce('ReduceSumSquare', centred, [3], 0); // [1,H,N]
  const dev = o.sub(score, o.reduce('ReduceMean', score, [2], 1));
  const std = o.unary('Sqrt', o.addS(o.reduce('ReduceMean', o.square(dev), [2], 1), 1e-8));
  const z = o.div(dev, std);
  return o.op('Softmax', [o.mulS(o.op('Tanh', [o.mulS(z, 1 / CLS_ATTN_KNEE)]), CLS_ATTN_GAIN)], { axis: 2 }, VISION_OUTPUTS.clsAttn);
}

/** Concept-space embedding of every patch [1,N,dc], axis by axis as documented in CONCEPT_AXES. */
function imageJoint(o: Ops, features: string): string {
  const ch = (name: string): string => o.gather(features, 2, [channelIndex(name)]);
  const bright = ch('brightness');
  const row = ch('row');
  const col = ch('col');
  const radius = ch('radius');
  const edges = o.gather(features, 2, ['edge_0', 'edge_45', 'edge_90', 'edge_135'].map(channelIndex));
  const [e0, e45, e90, e135] = ['edge_0', 'edge_45', 'edge_90', 'edge_135'].map(ch);
  const edgeMean = o.reduce('ReduceMean', edges, [2], 1);
  const texture = ch('texture');
  const sig = (x: string, c: number, k: number): string => o.unary('Sigmoid', o.affine(x, c, k));
  const axes: Record<string, string> = {
    bright: sig(bright, 0.75, 12),
    dark: sig(bright, 0.45, -12),
    colourful: ch('saturation'),
    left: sig(col, 0, -8),
    right: sig(col, 0, 8),
    top: sig(row, 0, -8),
    bottom: sig(row, 0, 8),
    centre: o.unary('Exp', o.mulS(o.square(radius), -25)),
    corner: sig(o.mul(o.unary('Abs', row), o.unary('Abs', col)), 0.09, 40),
    edge: edgeMean,
    stripe: o.sub(o.reduce('ReduceMax', edges, [2], 1), o.reduce('ReduceMin', edges, [2], 1)),
    texture,
    smooth: o.unary('Relu', o.addS(o.mulS(o.max(texture, edgeMean), -2), 1)),
    horizontal: o.unary('Relu', o.sub(e0, e90)),
    vertical: o.unary('Relu', o.sub(e90, e0)),
    diagonal: o.unary('Abs', o.sub(e45, e135)),
  };
  const colours = o.gather(features, 2, COLOUR_TERMS.map(channelIndex));
  const rest = CONCEPT_AXES.slice(COLOUR_TERMS.length).map((a) => {
    const t = axes[a.name];
    if (!t) throw new Error(`probe: concept axis ${a.name} has no image formula`);
    return t;
  });
  return o.concat([colours, ...rest], 2, VISION_OUTPUTS.imageJoint);
}

/** The probe's vision tower: pixel_values [1,3,336,336] → named outputs (see README). */
export function buildVisionModel(): Uint8Array {
  const g = new GraphBuilder('prunelens_probe_vision');
  const o = new Ops(g);
  const pixels = g.input('pixel_values', 'float32', [1, 3, IMAGE_SIZE, IMAGE_SIZE]);
  const lab = pixelsToOklab(o, pixels);
  const scaled = o.conv1x1(lab, [0, 1, 2].map((i) => [0, 1, 2].map((j) => (i === j ? EDGE_LAB_SCALE[i] : 0))));
  const chroma = o.unary('Sqrt', o.reduce('ReduceSumSquare', o.slice(lab, 1, 1, 3), [1], 1));
  const satPixel = o.min(o.mulS(chroma, 1 / SAT_FULL), o.scalar(1));
  const labMeans = o.patchMean(scaled, PATCH); // brightness, oklab_a, oklab_b
  const maps = o.concat(
    [
      colourMemberships(o, lab),
      o.slice(labMeans, 1, 0, 1),
      o.patchMean(satPixel, PATCH),
      o.slice(labMeans, 1, 1, 3),
      edgeEnergy(o, scaled),
      textureMap(o, scaled),
      positionChannels(o),
    ],
    1,
  ); // [1,d,24,24] in FEATURE_CHANNELS order
  const features = o.op('Transpose', [o.reshape(maps, [1, FEATURE_DIM, N_PATCHES])], { perm: [0, 2, 1] }, VISION_OUTPUTS.features);
  o.reduce('ReduceMean', features, [1], 0, VISION_OUTPUTS.cls);
  clsAttention(o, features);
  const wk = KEY_COLUMNS.map((k) => featureVector(k.weights));
  const wkT = Array.from({ length: FEATURE_DIM }, (_, i) => wk.map((col) => col[i]));
  o.op('MatMul', [features, o.constF('key_w', [FEATURE_DIM, wk.length], wkT.flat())], {}, VISION_OUTPUTS.keys);
  imageJoint(o, features);

  g.output(VISION_OUTPUTS.features, 'float32', [1, N_PATCHES, FEATURE_DIM]);
  g.output(VISION_OUTPUTS.cls, 'float32', [1, FEATURE_DIM]);
  g.output(VISION_OUTPUTS.clsAttn, 'float32', [1, CLS_HEADS.length, N_PATCHES]);
  g.output(VISION_OUTPUTS.keys, 'float32', [1, N_PATCHES, KEY_COLUMNS.length]);
  g.output(VISION_OUTPUTS.imageJoint, 'float32', [1, N_PATCHES, CONCEPT_AXES.length]);
  return g.build();
}
