import type { WeightsKind } from '../bundle/types.ts';
import type { JsonObject } from '../json.ts';

/**
 * `prunelens.json`: a small manifest describing a model for PruneLens. It sits either in a model folder
 * (optional there: a Hugging Face / transformers.js folder is understood without it) or in `models/`
 * beside a single ONNX file. Paths are relative to the manifest's folder.
 */
export interface ModelManifest {
  /** Stable id, e.g. "probe" or "clip-vit-base-patch32". */
  id: string;
  /** Display name, shown in the provenance strip. */
  name: string;
  /** One honest sentence on what the model is (and is not). */
  description: string;
  weightsKind: WeightsKind;
  vision: {
    /** ONNX file of the vision tower (or the combined model). */
    file: string;
    /** Name of the pixel input, default "pixel_values". */
    input?: string;
  };
  text?: {
    file: string;
    /** Name of the token-id input, default "input_ids". */
    input?: string;
  };
  /**
   * Graph outputs that already carry what PruneLens needs (models built for PruneLens, like the probe).
   * When absent, the runtime finds these tensors by walking the graph (graph surgery).
   */
  outputs?: {
    /** Patch tokens of the feature layer [1, N, d] (no [CLS]). */
    features?: string;
    /** [CLS]→patch attention [1, H, N] or [1, N]. */
    clsAttn?: string;
    /** Head-mean keys of the feature layer [1, N, dk]. */
    keys?: string;
    /** CLIP-joint patch embeddings [1, N, dt]. */
    imageJoint?: string;
    /** Text tower: pooled text embedding [1, dt]. */
    textEmbeds?: string;
    /** Text tower: per-token cue vectors in feature space [1, M, d] (F³A's cues). */
    cue?: string;
  };
  /** Feature layer as in LLaVA's `select_layer` (default -2, the penultimate layer). */
  featureLayer?: number;
  /** Preprocessor config file, default "preprocessor_config.json". */
  preprocessor?: string;
  /** Tokenizer file, default "tokenizer.json". */
  tokenizer?: string;
  /** Text context length (CLIP: 77). */
  contextLength?: number;
  /** Model-specific method settings, e.g. { "cdpruner": { "relevance_sign": 1 } } for the probe. */
  methodDefaults?: { [methodId: string]: JsonObject };
}
