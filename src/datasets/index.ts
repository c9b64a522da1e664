/** Datasets: the manifest of real media, fetching it into the cache, and synthetic shaky clips with ground truth. */
export { loadManifest, findClip, manifestPath } from './manifest.js';
export type { ClipEntry, Manifest, ManifestSource } from './manifest.js';
export { fetchDatasets, datasetPath, datasetsCacheDir, defaultSharedDir, sha256File } from './fetch.js';
export type { FetchOptions, FetchResult, FetchSource } from './fetch.js';
export {
  synthesizeClip,
  synthGroundTruth,
  readGroundTruth,
  listSynthPresets,
  getSynthPreset,
  cameraMatrix,
  composeAffine,
  invertAffine,
  applyAffine,
  GT_CONVENTION,
  defaultGtPath,
} from './synth.js';
export type {
  GroundTruth,
  SynthSpec,
  SynthOptions,
  SynthPresetInfo,
  ShakeSpec,
  IntentionalMotion,
  MotionKey,
  Pose,
  Affine2x3,
} from './synth.js';
export { mulberry32, gaussian, deriveSeed } from '../util/rng.js';
export { bandLimitedNoise, gaussianSigmaForCutoff } from './shake.js';
export { generateGait, gaitSet, renderGaitFrame, locateMarker, GAIT_COLORS } from './gait.js';
export type { GaitSpec, GaitTrack, GaitSetCase, RenderedGaitFrame } from './gait.js';
