/**
 * Segment stage (see README.md): plan N overlapping segments from motion
 * energy (pose-box speed or residual flow), and join separately generated
 * segments with a cross-fade and colour matching over each overlap.
 */
export { planSegments, planShotSegments, MAX_SEGMENTS, poseMotionEnergy, smoothEnergy, segmentLabels, validatePlan, SEGMENT_LABELS } from './plan.js';
export type { Segment, SegmentPlan, PlanOptions, MotionEnergySource } from './plan.js';
export { flowMotionEnergy, motionEnergyOfFrames, residualFlowMagnitude } from './energy.js';
export type { FlowEnergyOptions } from './energy.js';
export {
  rampWeight,
  planRampWeights,
  colorStats,
  colorTransfer,
  applyColorTransfer,
  crossFade,
  blendSegmentStreams,
  blendSegments,
  blendVideos,
  RAMP_KINDS,
  IDENTITY_TRANSFER,
} from './blend.js';
export type { RampKind, ColorStats, ColorTransfer, BlendOptions, SeamInfo } from './blend.js';
