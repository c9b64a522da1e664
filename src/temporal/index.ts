/**
 * Temporal consistency stage (see README.md): warp the previous output by
 * optical flow of the input, blend it in where the forward-backward check
 * passes, restart at segment starts unless asked to carry across seams.
 */
export { TemporalConsistency, applyTemporalConsistency, temporalVideo, keepUnchangedPixels, keepGeneratedWhere, TEMPORAL_DEFAULTS, TEMPORAL_STYLE_PRESET, TEMPORAL_ENCODE, SEPARATED_FARNEBACK, motionBoundaryMask } from './consistency.js';
export type { TemporalMethod, TemporalOptions, TemporalStep, PushOptions, TemporalVideoOptions, TemporalVideoResult } from './consistency.js';
// Flow, warping and gray live in src/flow; rgbToGray is re-exported because notebook 05 imports it from here.
export { rgbToGray } from '../flow/index.js';
