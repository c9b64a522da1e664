/** MoveNet output -> keypoints in original pixels (no model code here, so tests and consumers need no session). */
import { regionToFrame, type SquareRegion } from './crop.js';
import { COCO17, type Box, type Keypoint, type PoseFrame } from './types.js';

/** Keypoints scoring below this are marked invalid (MoveNet's own demos use 0.3). */
export const DEFAULT_MIN_SCORE = 0.3;
/** A person counts as found when at least this many keypoints are valid. */
export const DEFAULT_MIN_VALID = 5;

/** Box around the valid keypoints (pixel coordinates), or null when none is valid. */
export function boxOfValid(keypoints: Keypoint[]): Box | null {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const k of keypoints) {
    if (!k.valid) continue;
    x0 = Math.min(x0, k.x);
    y0 = Math.min(y0, k.y);
    x1 = Math.max(x1, k.x);
    y1 = Math.max(y1, k.y);
  }
  if (x0 === Infinity) return null;
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 };
}

/**
 * Turns MoveNet's output (17 x (y, x, score), normalised to the square input)
 * into a PoseFrame in original pixels. Low-score points keep the model's
 * position but are marked invalid; when fewer than minValid are valid the
 * person is not found and every point is invalid.
 */
export function poseFromOutput(
  output: ArrayLike<number>,
  region: SquareRegion,
  opts: { minScore: number; minValid: number; index: number },
): PoseFrame {
  const keypoints: Keypoint[] = [];
  let sum = 0;
  let nValid = 0;
  for (let k = 0; k < COCO17.length; k++) {
    const yn = output[k * 3];
    const xn = output[k * 3 + 1];
    const score = output[k * 3 + 2];
    const p = regionToFrame(region, xn, yn);
    const valid = score >= opts.minScore;
    if (valid) nValid++;
    sum += score;
    keypoints.push({ x: p.x, y: p.y, score, valid });
  }
  const found = nValid >= opts.minValid;
  if (!found) for (const k of keypoints) k.valid = false;
  return { index: opts.index, found, keypoints, box: found ? boxOfValid(keypoints) : null, score: sum / COCO17.length };
}

