// Writes a transformers.js-style model folder holding generated CLIP test graphs (tests only).
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { WEIGHTS_KIND_KEY } from '../../extension/core/runtime/onnx-graph.ts';
import { buildCombinedModel, buildTextModel, buildVisionModel, type GenOptions, type TextSpec, type VisionSpec, type Weights } from './clip.ts';

const { onnx } = onnxProto;

/** Mark a generated graph as random test weights inside the ONNX file itself, so a copied file stays labelled. */
export function markRandomTest(bytes: Uint8Array): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  model.metadataProps = [...(model.metadataProps ?? []), { key: WEIGHTS_KIND_KEY, value: 'random-test' }];
  model.docString = 'PruneLens test graph: CLIP architecture with seeded random weights (outputs mean nothing).';
  return onnx.ModelProto.encode(model).finish();
}

export interface TestFolderOptions {
  /** Folder with a real model's JSON files (config, preprocessor, tokenizer) to copy. */
  template: string;
  vision?: Partial<VisionSpec>;
  text?: Partial<TextSpec>;
  gen?: Partial<GenOptions>;
  /** One combined onnx/model.onnx instead of vision_model.onnx + text_model.onnx. */
  combined?: boolean;
  /** Leave the text tower out. */
  visionOnly?: boolean;
}

export interface TestFolder {
  dir: string;
  vision: VisionSpec;
  text: TextSpec | null;
  visionWeights: Weights;
  textWeights: Weights | null;
}

/**
 * Copy the template's *.json, write onnx/ graphs, and rewrite config.json / preprocessor_config.json so
 * they describe the generated sizes (the real tokenizer stays, so ids are real CLIP ids).
 */
export function writeTestModelFolder(dir: string, opts: TestFolderOptions): TestFolder {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  for (const f of readdirSync(opts.template)) {
    if (!f.endsWith('.json') && !f.endsWith('.txt')) continue;
    copyFileSync(join(opts.template, f), join(dir, f));
    chmodSync(join(dir, f), 0o644); // the template may be read-only; config files are rewritten below
  }
  let vision: VisionSpec;
  let text: TextSpec | null = null;
  let visionWeights: Weights;
  let textWeights: Weights | null = null;
  if (opts.combined) {
    const m = buildCombinedModel(opts.vision, opts.text, opts.gen);
    writeFileSync(join(dir, 'onnx', 'model.onnx'), markRandomTest(m.bytes));
    vision = m.vision;
    text = m.text;
    visionWeights = m.weights;
    textWeights = m.weights;
  } else {
    const v = buildVisionModel(opts.vision, opts.gen);
    writeFileSync(join(dir, 'onnx', 'vision_model.onnx'), markRandomTest(v.bytes));
    vision = v.spec;
    visionWeights = v.weights;
    if (!opts.visionOnly) {
      const t = buildTextModel(opts.text, opts.gen);
      writeFileSync(join(dir, 'onnx', 'text_model.onnx'), markRandomTest(t.bytes));
      text = t.spec;
      textWeights = t.weights;
    }
  }
  const cfgPath = join(dir, 'config.json');
  const cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as { [k: string]: unknown };
  cfg.vision_config = { ...(cfg.vision_config as object), hidden_size: vision.width, image_size: vision.imageSize, patch_size: vision.patchSize, num_attention_heads: vision.heads, num_hidden_layers: vision.layers, intermediate_size: vision.mlp, projection_dim: vision.projection };
  if (text) cfg.text_config = { ...(cfg.text_config as object), hidden_size: text.width, num_attention_heads: text.heads, num_hidden_layers: text.layers, intermediate_size: text.mlp, max_position_embeddings: text.context, vocab_size: text.vocab, projection_dim: text.projection };
  cfg.projection_dim = vision.projection;
  cfg._prunelens_note = 'Generated test model: CLIP architecture, random test weights.';
  writeFileSync(cfgPath, JSON.stringify(cfg, null, 2));
  const ppPath = join(dir, 'preprocessor_config.json');
  const pp = JSON.parse(readFileSync(ppPath, 'utf8')) as { [k: string]: unknown };
  pp.size = { shortest_edge: vision.imageSize };
  pp.crop_size = { height: vision.imageSize, width: vision.imageSize };
  writeFileSync(ppPath, JSON.stringify(pp, null, 2));
  return { dir, vision, text, visionWeights, textWeights };
}
