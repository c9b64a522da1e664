/** Person masks: BlazePose-full (or selfie) segmentation of a square crop around the pose, pasted back and feathered (see README.md). */
export { createPersonMasker, loadMaskRunner, maskModelId } from './masker.js';
export type { MaskModelName, MaskModelRunner, PersonMasker, PersonMaskerOptions, PersonMaskResult } from './masker.js';
export { DEFAULT_MASK_MARGIN, maskRegionForPose, pasteMask, featherMask, maskCoverage } from './composite.js';
export { maskVideo, sidecarPath } from './video.js';
export type { MaskSidecar, MaskVideoOptions } from './video.js';
export { MaskStabilityMeter, TemporalMaskFilter, maskPairStats } from './stability.js';
export type { MaskPairStats, StabilitySummary, TemporalMaskOptions } from './stability.js';
