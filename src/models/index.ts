/**
 * Models: the manifest (models/manifest.json), the TensorFlow.js-graph-to-ONNX
 * converter, the converted-model cache and the onnxruntime-node loader.
 *
 *   const m = await loadModel('movenet-thunder');          // cached ONNX, CPU or CUDA
 *   const out = await m.session.run({ [m.inputNames[0]]: tensor });
 */
export { MODEL_IDS, listModels, getModelSpec, isModelId, loadModelsManifest } from './manifest.js';
export type { ModelId, ModelSpec, ModelsManifest } from './manifest.js';
export { prepareModel, cachedOnnxPath, cachedModelInfo, modelCacheDir, convertModel } from './cache.js';
export type { PreparedModel } from './cache.js';
export { loadModel, cudaAvailability } from './load.js';
export type { LoadedModel, LoadOptions, Provider } from './load.js';
export { CONVERTER_VERSION, OPSET, SUPPORTED_OPS, convertTfGraph, assertSupported, graphOpTypes } from './convert.js';
export type { ConvertOptions, ConvertResult } from './convert.js';
export { readTfGraph, parseTfGraph, decodeWeights, halfToFloat } from './tfjs-graph.js';
export type { TfGraph, TfNode, TfConst, TfModelJson } from './tfjs-graph.js';
export { modelPackageDir, readModelSource, expectedSourceSha256 } from './source.js';
