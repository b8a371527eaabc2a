// Public image API of the runtime: decode a file, load a model's preprocessing recipe, make the tensor.
//   const cfg = loadPreprocessorConfig(modelFolder);
//   const img = await decodeImage(path, { maxMegapixels: 50, minSide: patchSize });
//   const { data, shape } = preprocess(img, cfg); // Float32Array, [1, 3, H, W]
export { decodeImage, checkImageSize, DEFAULT_DECODE_LIMITS, type DecodedImage, type DecodeLimits } from './decode.ts';
export { loadPreprocessorConfig, parsePreprocessorConfig, type PreprocessorConfig, type ResizeTarget } from './preprocessor-config.ts';
export { preprocess, resizeAndCrop, resizeOutputSize, centerCropRgb, type PixelTensor } from './preprocess.ts';
export { resizeRgb8, RESAMPLE, type ResampleCode } from './resize.ts';
