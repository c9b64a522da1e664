/**
 * Temporal consistency stage (see README.md): warp the previous output by
 * optical flow of the input, blend it in where the forward-backward check
 * passes, restart at segment starts unless asked to carry across seams.
 */
export { TemporalConsistency, applyTemporalConsistency, temporalVideo, TEMPORAL_DEFAULTS } from './consistency.js';
export type { TemporalOptions, TemporalStep, TemporalVideoOptions, TemporalVideoResult } from './consistency.js';
export { nonOcclusionMask, flowSize, resizeFlow, resizeGray, rgbToGray, warpRgb } from './flow-tools.js';
export type { OcclusionOptions } from './flow-tools.js';
