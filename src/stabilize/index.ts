/**
 * Stage 3, stabilization: motion (feature tracks -> inter-frame similarity),
 * smooth (trajectory + smoothers), correction (C_t = S_t ∘ P_t^-1, border
 * policy, warp), transforms-file (transforms.json v2), reshake (inverse warp),
 * apply (the one transforms API: warpAt, stabilizeFrame, reshakeFrameAt, canvas mode).
 * Conventions are in README.md of this folder.
 */
export * from './similarity.js';
export {
  estimateMotion,
  analyzeMotion,
  MotionAnalyzer,
  ransacSimilarity,
  homographyChoice,
  HOMOGRAPHY_RULE,
  fitSimilarityLS,
  resolveMotionOptions,
  toGray,
  toGraySync,
  type MotionModel,
  type CorrectionModel,
  type MotionFallback,
  type MotionOptions,
  type MotionEstimate,
  type AnalyzeOptions,
} from './motion.js';
export { analyzeMotionParallel, type ParallelAnalyzeOptions } from './parallel.js';
export * from './smooth.js';
export * from './correction.js';
export * from './transforms-file.js';
export * from './reshake.js';
export * from './apply.js';
export { planStabilization, homographyCorrections, type StabilizationPlan, type PlanStabilizationOptions } from './plan.js';
export { makeShakyClip, makePlanarClip, type ShakyClip, type ShakyClipOptions, type PlanarClip, type PlanarClipOptions } from './synthetic.js';
export { analyzeVideo, stabilizeVideo, reshakeVideo, shrinkMask, type StabilizeVideoOptions, type StabilizeVideoResult } from './video.js';
export type { Shot, ShotOptions } from '../shots/index.js';
