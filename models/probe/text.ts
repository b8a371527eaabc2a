import { GraphBuilder } from '../onnx/builder.ts';
import { CONCEPT_AXES, CONCEPT_DIM, CUE_NORM, FEATURE_DIM, conceptIndex, featureVector } from './concepts.ts';
import { Ops } from './ops.ts';
import { buildVocabulary, conceptVector, type VocabEntry } from './vocabulary.ts';

export const TEXT_OUTPUTS = { textEmbeds: 'text_embeds', cue: 'cue' } as const;

function unit(v: number[]): number[] {
  const n = Math.hypot(...v);
  return n > 0 ? v.map((x) => x / n) : v;
}

/**
 * A word's F³A cue in feature space: the unit cue directions of its concept axes, weighted, summed,
 * scaled to CUE_NORM. Zero for words without concepts.
 */
export function cueVector(entry: VocabEntry): number[] {
  const sum = new Array<number>(FEATURE_DIM).fill(0);
  for (const [axis, w] of Object.entries(entry.concepts)) {
    unit(featureVector(CONCEPT_AXES[conceptIndex(axis)].cue)).forEach((x, i) => (sum[i] += w * x));
  }
  return unit(sum).map((x) => x * CUE_NORM);
}

/**
 * The probe's text tower: input_ids [1,seq] → text_embeds [1,dc] (unit-length sum of the tokens' concept
 * vectors; exactly zero when no token has a concept) and cue [1,seq,d] (per-token cue vectors).
 */
export function buildTextModel(): Uint8Array {
  const vocab = buildVocabulary();
  const g = new GraphBuilder('prunelens_probe_text');
  const o = new Ops(g);
  const ids = g.input('input_ids', 'int64', [1, 'sequence']);
  const conceptTable = o.constF('concept_table', [vocab.length, CONCEPT_DIM], vocab.flatMap(conceptVector));
  const cueTable = o.constF('cue_table', [vocab.length, FEATURE_DIM], vocab.flatMap(cueVector));
  const summed = o.reduceSum(o.op('Gather', [conceptTable, ids], { axis: 0 }), [1], 0); // [1,dc]
  const norm = o.unary('Sqrt', o.reduce('ReduceSumSquare', summed, [1], 1));
  o.op('Div', [summed, o.addS(norm, 1e-12)], {}, TEXT_OUTPUTS.textEmbeds);
  o.op('Gather', [cueTable, ids], { axis: 0 }, TEXT_OUTPUTS.cue);
  g.output(TEXT_OUTPUTS.textEmbeds, 'float32', [1, CONCEPT_DIM]);
  g.output(TEXT_OUTPUTS.cue, 'float32', [1, 'sequence', FEATURE_DIM]);
  return g.build();
}
