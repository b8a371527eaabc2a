import { CONCEPT_AXES, CONCEPT_DIM, conceptIndex } from './concepts.ts';

/**
 * The probe's word-level vocabulary. Content words map to concept axes (weights, normalised per word);
 * neutral words and punctuation are known (so they tokenise to themselves) but mean nothing to the probe.
 */

export const SPECIAL_TOKENS = { pad: '[PAD]', unk: '[UNK]', start: '<start>', end: '<end>' } as const;

/** Concept axis → the words that name it (weight 1). Order fixes the token ids. */
const AXIS_WORDS: Record<string, readonly string[]> = {
  black: ['black', 'blackish'],
  white: ['white', 'whitish'],
  grey: ['grey', 'gray', 'greyish', 'grayish', 'silver'],
  red: ['red', 'reddish', 'crimson', 'scarlet'],
  orange: ['orange', 'orangey'],
  yellow: ['yellow', 'yellowish', 'golden', 'gold'],
  green: ['green', 'greenish'],
  blue: ['blue', 'bluish', 'navy', 'azure'],
  purple: ['purple', 'purplish', 'violet', 'lilac'],
  pink: ['pink', 'pinkish'],
  brown: ['brown', 'brownish'],
  bright: ['bright', 'brighter', 'brightest', 'light', 'lighter', 'lit', 'pale', 'sunny'],
  dark: ['dark', 'darker', 'darkest', 'dim', 'shadow', 'shadows', 'shaded', 'shady'],
  colourful: ['colourful', 'colorful', 'vivid', 'saturated', 'vibrant'],
  left: ['left', 'leftmost'],
  right: ['right', 'rightmost'],
  top: ['top', 'upper', 'above', 'up'],
  bottom: ['bottom', 'lower', 'below', 'down', 'beneath'],
  centre: ['centre', 'center', 'middle', 'central', 'centred', 'centered'],
  corner: ['corner', 'corners'],
  edge: ['edge', 'edges', 'outline', 'border', 'contour', 'boundary'],
  stripe: ['stripe', 'stripes', 'striped', 'stripy', 'line', 'lines'],
  texture: ['texture', 'textured', 'rough', 'grainy', 'noisy', 'noise', 'pattern', 'patterned'],
  smooth: ['smooth', 'plain', 'flat', 'uniform'],
  horizontal: ['horizontal'],
  vertical: ['vertical'],
  diagonal: ['diagonal'],
};

/** Words naming a mix of axes. */
const MIXED_WORDS: Record<string, Record<string, number>> = {
  cyan: { green: 1, blue: 1 },
  turquoise: { green: 1, blue: 1 },
  teal: { green: 1, blue: 1 },
  magenta: { purple: 1, pink: 1 },
  beige: { white: 1, brown: 1 },
};

/** Known words with no meaning for the probe (question words, shapes, objects). */
const NEUTRAL_WORDS: readonly string[] = [
  'where', 'what', 'which', 'who', 'how', 'is', 'are', 'was', 'were', 'be', 'the', 'a', 'an', 'of', 'in', 'on',
  'at', 'to', 'and', 'or', 'with', 'there', 'this', 'that', 'it', 'its', 'any', 'do', 'does', 'you', 'can', 'see',
  'find', 'show', 'describe', 'image', 'picture', 'photo', 'thing', 'object', 'objects', 'shape', 'shapes',
  'square', 'squares', 'disc', 'disk', 'circle', 'circles', 'triangle', 'box', 'colour', 'color', 'side', 'part',
  'region', 'area', 'many', 'much', 'small', 'large', 'big', 'man', 'woman', 'person', 'cat', 'dog', 'sky',
];
const PUNCTUATION: readonly string[] = ['?', '.', ',', '!', ':', ';', "'", '"', '-', '(', ')', '/'];

export interface VocabEntry {
  id: number;
  token: string;
  /** Concept weights (empty for neutral words and specials). */
  concepts: Record<string, number>;
}

/** The full vocabulary, ids 0..V-1: specials, content words, neutral words, punctuation. */
export function buildVocabulary(): VocabEntry[] {
  const entries: VocabEntry[] = [];
  const seen = new Set<string>();
  const add = (token: string, concepts: Record<string, number>): void => {
    if (seen.has(token)) throw new Error(`probe vocabulary: "${token}" listed twice`);
    seen.add(token);
    entries.push({ id: entries.length, token, concepts });
  };
  for (const t of Object.values(SPECIAL_TOKENS)) add(t, {});
  for (const axis of CONCEPT_AXES) for (const w of AXIS_WORDS[axis.name] ?? []) add(w, { [axis.name]: 1 });
  for (const [w, mix] of Object.entries(MIXED_WORDS)) add(w, mix);
  for (const w of NEUTRAL_WORDS) add(w, {});
  for (const p of PUNCTUATION) add(p, {});
  for (const name of Object.keys(AXIS_WORDS)) conceptIndex(name);
  return entries;
}

/** Concept vector of one entry: its axis weights, normalised to unit length (zero for neutral words). */
export function conceptVector(entry: VocabEntry): number[] {
  const v = new Array<number>(CONCEPT_DIM).fill(0);
  for (const [axis, w] of Object.entries(entry.concepts)) v[conceptIndex(axis)] += w;
  const norm = Math.hypot(...v);
  return norm > 0 ? v.map((x) => x / norm) : v;
}
