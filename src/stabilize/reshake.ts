/**
 * Phase 5: re-shake. Puts the original camera motion back into frames that
 * live in stabilized coordinates (e.g. generated frames): the inverse of the
 * output transform F_t = Z(zoom) ∘ C_t, so reshake(stabilize(frame)) ≈ frame
 * wherever both warps sampled inside their sources.
 */
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame } from '../video/types.js';
import { outputTransform, warpFrameSync, type FillMode } from './correction.js';
import { invert, type Mat2x3 } from './similarity.js';

/** The matrix re-shake warps with: F_t^-1 (stabilized px -> original frame px). */
export function reshakeMatrix(correction: Mat2x3, zoom: number, width: number, height: number): Mat2x3 {
  return invert(outputTransform(correction, zoom, width, height));
}

/** Applies F_t^-1 (bilinear). Uncovered pixels are filled by edge replication by default. */
export async function reshakeFrame(frame: Frame, correction: Mat2x3, zoom = 1, opts: { fill?: FillMode } = {}): Promise<Frame> {
  const cv = await loadOpenCV();
  return warpFrameSync(cv, frame, reshakeMatrix(correction, zoom, frame.width, frame.height), opts.fill ?? 'replicate');
}
