/**
 * The probe's meaning, in one place: colour prototypes, the named feature channels, the [CLS]-attention
 * heads, the key projection and the concept axes shared by image_joint and the text tower. vision.ts,
 * text.ts, vocabulary.ts and the generated README all read these tables, so the docs cannot drift.
 */

/** The 11 basic colour terms (Berlin & Kay), in channel order. */
export const COLOUR_TERMS = ['black', 'white', 'grey', 'red', 'orange', 'yellow', 'green', 'blue', 'purple', 'pink', 'brown'] as const;
export type ColourTerm = (typeof COLOUR_TERMS)[number];

/** Prototype sRGB colours (0–255) per term; a pixel's membership sums the softmax over all prototypes of a term. */
export const COLOUR_PROTOTYPES: Record<ColourTerm, readonly (readonly [number, number, number])[]> = {
  black: [[0, 0, 0], [40, 40, 40]],
  white: [[255, 255, 255], [230, 230, 230]],
  grey: [[128, 128, 128], [90, 90, 90], [170, 170, 170], [200, 200, 200]],
  red: [[255, 0, 0], [200, 20, 20], [140, 0, 0]],
  orange: [[255, 140, 0], [255, 110, 20], [230, 120, 40]],
  yellow: [[255, 255, 0], [255, 215, 0], [240, 230, 110]],
  green: [[0, 128, 0], [0, 255, 0], [60, 170, 60], [0, 80, 0], [120, 200, 80]],
  blue: [[0, 0, 255], [30, 80, 200], [0, 120, 255], [0, 0, 128], [120, 170, 230], [150, 200, 235]],
  purple: [[128, 0, 128], [110, 40, 170], [170, 90, 210], [75, 0, 130]],
  pink: [[255, 192, 203], [255, 105, 180], [230, 80, 150]],
  brown: [[139, 69, 19], [100, 60, 30], [160, 90, 50], [70, 40, 20]],
};

/** Softmax temperature over negative Oklab distances (×100 units). */
export const COLOUR_TAU = 2.5;
/** Patch size and grid (LLaVA-1.5 geometry). */
export const IMAGE_SIZE = 336;
export const PATCH = 14;
export const GRID = IMAGE_SIZE / PATCH;
export const N_PATCHES = GRID * GRID;
export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** Edge and texture measures read Oklab (×100) as [L/100, a/50, b/50]: a red–grey edge counts like a light–dark one. */
export const EDGE_LAB_SCALE = [1 / 100, 1 / 50, 1 / 50] as const;
/** RMS edge response r maps to r / (r + EDGE_HALF): 0.5 at EDGE_HALF. */
export const EDGE_HALF = 0.06;
/** Patch colour standard deviation s maps to s / (s + TEXTURE_HALF). */
export const TEXTURE_HALF = 0.05;
/** Oklab chroma C (×100) maps to min(C / SAT_FULL, 1); pure sRGB red has C ≈ 26. */
export const SAT_FULL = 25;

export interface Channel {
  name: string;
  meaning: string;
}

const colourChannels: Channel[] = COLOUR_TERMS.map((t) => ({
  name: t,
  meaning: `fraction of the patch's pixels called "${t}"`,
}));

/** The vision tower's `patch_features` channels, in order. */
export const FEATURE_CHANNELS: readonly Channel[] = [
  ...colourChannels,
  { name: 'brightness', meaning: 'mean Oklab lightness L over the patch (0 black … 1 white)' },
  { name: 'saturation', meaning: `mean min(C/${SAT_FULL}, 1), C = 100·√(a² + b²) the Oklab chroma (0 grey … 1 vivid)` },
  { name: 'oklab_a', meaning: 'mean Oklab a × 2 (negative green … positive red/magenta; ≈ ±0.5)' },
  { name: 'oklab_b', meaning: 'mean Oklab b × 2 (negative blue … positive yellow; ≈ ±0.6)' },
  { name: 'edge_0', meaning: `energy of horizontal edges (brightness/colour changing vertically): RMS of the y-derivative, r/(r+${EDGE_HALF})` },
  { name: 'edge_45', meaning: 'energy of diagonal edges rising to the right (45°): derivative along (x+y)/√2 (y down), same mapping' },
  { name: 'edge_90', meaning: 'energy of vertical edges (changing horizontally): x-derivative, same mapping' },
  { name: 'edge_135', meaning: 'energy of diagonal edges falling to the right (135°): derivative along (x−y)/√2, same mapping' },
  { name: 'texture', meaning: `local variation: standard deviation s of Oklab [L, 2a, 2b] inside the patch, s/(s+${TEXTURE_HALF})` },
  { name: 'row', meaning: 'patch centre row, (r + 0.5)/24 − 0.5: −0.48 top … +0.48 bottom' },
  { name: 'col', meaning: 'patch centre column, (c + 0.5)/24 − 0.5: −0.48 left … +0.48 right' },
  { name: 'radius', meaning: 'distance of the patch centre from the image centre, √(row² + col²): 0.03 … 0.68' },
];
export const FEATURE_DIM = FEATURE_CHANNELS.length;

export function channelIndex(name: string): number {
  const i = FEATURE_CHANNELS.findIndex((c) => c.name === name);
  if (i < 0) throw new Error(`probe: no feature channel "${name}"`);
  return i;
}

/** Channel weights → dense vector over the feature channels. */
export function featureVector(weights: Record<string, number>): number[] {
  const v = new Array<number>(FEATURE_DIM).fill(0);
  for (const [name, w] of Object.entries(weights)) v[channelIndex(name)] += w;
  return v;
}

const colourWeights = Object.fromEntries(COLOUR_TERMS.map((t) => [t, 1]));
const edgeWeights = { edge_0: 1, edge_45: 1, edge_90: 1, edge_135: 1 };

/**
 * [CLS]→patch attention heads. Head h scores patch i by the squared distance between its weighted
 * channels and the image mean, z-scores that over the patches and takes
 * Softmax(CLS_ATTN_GAIN · tanh(z / CLS_ATTN_KNEE)): the tanh keeps one freak patch in a photo from taking
 * all the mass, so the map stays a readable saliency.
 */
export const CLS_HEADS: readonly { name: string; weights: Record<string, number> }[] = [
  { name: 'colour', weights: { ...colourWeights, oklab_a: 1, oklab_b: 1 } },
  { name: 'light', weights: { brightness: 1, saturation: 1 } },
  { name: 'edges', weights: edgeWeights },
  { name: 'texture', weights: { texture: 1 } },
];
export const CLS_ATTN_GAIN = 4;
export const CLS_ATTN_KNEE = 2;

/** `keys` columns: appearance with a little position, so key cosine finds look-alike neighbours. */
export const KEY_COLUMNS: readonly { name: string; weights: Record<string, number> }[] = [
  ...COLOUR_TERMS.map((t) => ({ name: t, weights: { [t]: 1 } })),
  { name: 'brightness', weights: { brightness: 1 } },
  { name: 'saturation', weights: { saturation: 1 } },
  { name: 'edges', weights: { edge_0: 0.25, edge_45: 0.25, edge_90: 0.25, edge_135: 0.25 } },
  { name: 'texture', weights: { texture: 1 } },
  { name: 'row', weights: { row: 0.5 } },
  { name: 'col', weights: { col: 0.5 } },
];

export interface ConceptAxis {
  name: string;
  /** How image_joint computes the axis from the patch's channels (documentation of vision.ts). */
  image: string;
  /** F³A cue direction in feature space (unnormalised channel weights). */
  cue: Record<string, number>;
}

/** The concept space shared by `image_joint` (per patch) and `text_embeds` (per question). */
export const CONCEPT_AXES: readonly ConceptAxis[] = [
  ...COLOUR_TERMS.map((t) => ({ name: t, image: `= channel ${t}`, cue: { [t]: 1 } })),
  { name: 'bright', image: 'σ(12·(brightness − 0.75))', cue: { brightness: 1 } },
  { name: 'dark', image: 'σ(12·(0.45 − brightness))', cue: { brightness: -1 } },
  { name: 'colourful', image: '= saturation', cue: { saturation: 1 } },
  { name: 'left', image: 'σ(−8·col)', cue: { col: -1 } },
  { name: 'right', image: 'σ(8·col)', cue: { col: 1 } },
  { name: 'top', image: 'σ(−8·row)', cue: { row: -1 } },
  { name: 'bottom', image: 'σ(8·row)', cue: { row: 1 } },
  { name: 'centre', image: 'exp(−25·radius²)', cue: { radius: -1 } },
  { name: 'corner', image: 'σ(40·(|row|·|col| − 0.09))', cue: { radius: 1 } },
  { name: 'edge', image: 'mean of edge_0..edge_135', cue: edgeWeights },
  { name: 'stripe', image: 'max − min of edge_0..edge_135 (one orientation dominates)', cue: { ...edgeWeights, texture: 0.5 } },
  { name: 'texture', image: '= texture', cue: { texture: 1 } },
  { name: 'smooth', image: 'relu(1 − 2·max(texture, edge))', cue: { texture: -1, edge_0: -0.5, edge_45: -0.5, edge_90: -0.5, edge_135: -0.5 } },
  { name: 'horizontal', image: 'relu(edge_0 − edge_90)', cue: { edge_0: 1, edge_90: -1 } },
  { name: 'vertical', image: 'relu(edge_90 − edge_0)', cue: { edge_90: 1, edge_0: -1 } },
  { name: 'diagonal', image: '|edge_45 − edge_135|', cue: { edge_45: 1, edge_135: 1, edge_0: -1, edge_90: -1 } },
];
export const CONCEPT_DIM = CONCEPT_AXES.length;

export function conceptIndex(name: string): number {
  const i = CONCEPT_AXES.findIndex((a) => a.name === name);
  if (i < 0) throw new Error(`probe: no concept axis "${name}"`);
  return i;
}

/**
 * Length of a word's cue vector. F³A centres cues by the image mean μ (‖μ‖ ≈ 1 here): a long cue keeps
 * pointing along its concept's channels after centring.
 */
export const CUE_NORM = 10;
