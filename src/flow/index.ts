/**
 * Optical flow: dense Farneback flow, sparse LK tracks with a forward-backward
 * check, backward warping by a flow, and the Middlebury colour coding.
 *
 * Convention throughout: x right, y down; flow (dx, dy) at (x, y) of prev means
 * prev(x, y) ~ next(x + dx, y + dy).
 */
export { denseFlow, sparseTracks, warpByFlow, FARNEBACK_DEFAULTS, SPARSE_DEFAULTS } from './flow.js';
export type { FarnebackOptions, SparseTrackOptions, SparseTracks, TrackPoint } from './flow.js';
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
