/**
 * Optical flow: dense Farneback flow, the occlusion check and warping by a
 * flow (dense.ts), the one RGB -> gray conversion (gray.ts), sparse LK tracks
 * with a forward-backward check (flow.ts), and the Middlebury colour coding.
 *
 * Convention throughout: x right, y down; flow (dx, dy) at (x, y) of prev means
 * prev(x, y) ~ next(x + dx, y + dy).
 */
export { denseFlow, warpByFlow, resizeGray, resizeFlow, flowSize, nonOcclusionMask, FARNEBACK_DEFAULTS } from './dense.js';
export type { FarnebackOptions, OcclusionOptions, WarpOptions } from './dense.js';
export { FlowAhead } from './flow-ahead.js';
export { rgbToGray, rgbToLuma, asGray, gradientMagnitude, LUMA_WEIGHTS } from './gray.js';
// The one sparse tracker (the stabilizer's): tracks.ts.
export { sparseTracks, detectCorners, lkTrack, resolveTrackerOptions, TRACKER_DEFAULTS, TRACKER_DEFAULTS as SPARSE_DEFAULTS } from './tracks.js';
export type { TrackerOptions, TrackerOptions as SparseTrackOptions, SparseTracks, TrackPoint, LkResult } from './tracks.js';
export {
  flowToColor,
  flowColorWheel,
  flowStats,
  computeColor,
  middleburyColorWheel,
  MIDDLEBURY_SEGMENTS,
  UNKNOWN_FLOW_THRESH,
} from './color.js';
export type { FlowField, FlowStats } from './color.js';
