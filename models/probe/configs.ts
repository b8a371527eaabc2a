import type { JsonObject } from '../../extension/core/json.ts';
import type { ModelManifest } from '../../extension/core/runtime/manifest.ts';
import { CLIP_MEAN, CLIP_STD, CLS_HEADS, CONCEPT_DIM, FEATURE_DIM, IMAGE_SIZE, KEY_COLUMNS, PATCH } from './concepts.ts';
import { TEXT_OUTPUTS } from './text.ts';
import { CONTEXT_LENGTH } from './tokenizer-json.ts';
import { VISION_OUTPUTS } from './vision.ts';

export const VISION_FILE = 'onnx/vision_model.onnx';
export const TEXT_FILE = 'onnx/text_model.onnx';

export const PROBE_DESCRIPTION = 'PruneLens Probe — understands colours, brightness, texture and position; not a vision-language model';

/** prunelens.json: everything the runtime needs, so the folder describes itself. */
export function probeManifest(): ModelManifest & { notes: JsonObject } {
  return {
    id: 'probe',
    name: 'PruneLens Probe',
    description: PROBE_DESCRIPTION,
    weightsKind: 'probe',
    vision: { file: VISION_FILE, input: 'pixel_values' },
    text: { file: TEXT_FILE, input: 'input_ids' },
    outputs: {
      features: VISION_OUTPUTS.features,
      clsAttn: VISION_OUTPUTS.clsAttn,
      keys: VISION_OUTPUTS.keys,
      imageJoint: VISION_OUTPUTS.imageJoint,
      textEmbeds: TEXT_OUTPUTS.textEmbeds,
      cue: TEXT_OUTPUTS.cue,
    },
    preprocessor: 'preprocessor_config.json',
    tokenizer: 'tokenizer.json',
    contextLength: CONTEXT_LENGTH,
    methodDefaults: { cdpruner: { relevance_sign: 1 } },
    notes: {
      'methodDefaults.cdpruner.relevance_sign':
        "CDPruner's official relevance sign is −1 because LLaVA's CLIP shows inverted patch–text similarity; " +
        "the probe's image_joint · text_embeds is high where the question's concept is, so it uses +1.",
      features: 'patch_features has named channels (README.md); there is no layer stack, so no feature layer applies.',
      cls: `${VISION_OUTPUTS.cls} [1,${FEATURE_DIM}] is the [CLS] summary: the mean of the patch features.`,
      cue: 'cue rows are exactly zero for tokens without meaning (specials, question words, punctuation): drop them.',
    },
  };
}

/** config.json in the transformers style, so generic tools can read sizes. */
export function probeConfig(vocabSize: number): JsonObject {
  return {
    architectures: ['PruneLensProbe'],
    model_type: 'prunelens_probe',
    projection_dim: CONCEPT_DIM,
    vision_config: {
      model_type: 'prunelens_probe_vision',
      image_size: IMAGE_SIZE,
      patch_size: PATCH,
      num_channels: 3,
      hidden_size: FEATURE_DIM,
      num_attention_heads: CLS_HEADS.length,
      key_size: KEY_COLUMNS.length,
      projection_dim: CONCEPT_DIM,
    },
    text_config: {
      model_type: 'prunelens_probe_text',
      vocab_size: vocabSize,
      max_position_embeddings: CONTEXT_LENGTH,
      hidden_size: CONCEPT_DIM,
      cue_size: FEATURE_DIM,
      projection_dim: CONCEPT_DIM,
    },
  };
}

/** preprocessor_config.json exactly like CLIP ViT-L/14-336's (LLaVA-1.5). */
export function preprocessorConfig(): JsonObject {
  return {
    crop_size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [...CLIP_MEAN],
    image_processor_type: 'CLIPImageProcessor',
    image_std: [...CLIP_STD],
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: IMAGE_SIZE },
  };
}
