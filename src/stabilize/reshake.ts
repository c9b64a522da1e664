/**
 * Phase 5: re-shake. Puts the original camera motion back into frames that
 * live in stabilized coordinates (e.g. generated frames): the inverse of the
 * output transform F_t = Z(zoom) ∘ C_t. Frames are re-shaken with
 * reshakeFrameAt / reshakeFrames (apply.ts), which read the zoom rule from
 * transforms.json; this is the matrix alone.
 */
import { outputTransform } from './correction.js';
import { invert, type Mat2x3 } from './similarity.js';

/** The matrix re-shake warps with: F_t^-1 (stabilized px -> original frame px). */
export function reshakeMatrix(correction: Mat2x3, zoom: number, width: number, height: number): Mat2x3 {
  return invert(outputTransform(correction, zoom, width, height));
}
