export {
  createStyleGenerator,
  styleWorkingSize,
  maskUnionBox,
  STYLE_DEFAULT_SIZE,
  SUBJECT_PAD,
  type StyleGenerator,
  type StyleGeneratorOptions,
  type StyleScope,
} from './generator.js';
export { buildStyleOnnx, STYLE_GRAPH_VERSION, STYLE_INPUT, STYLE_OUTPUT, STYLE_NORM_EPSILON } from './graph.js';
export { prepareStyleModel, styleModelPath, type PreparedStyleModel } from './cache.js';
export {
  readStyleWeights,
  resolveStyleFolder,
  styleModelRoots,
  styleVariableName,
  expectedStyleShapes,
  STYLE_LAYERS,
  STYLE_VARIABLE_COUNT,
  STYLE_MODELS_ENV,
  type StyleLayer,
  type StyleWeights,
} from './weights.js';
