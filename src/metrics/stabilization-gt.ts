/**
 * Stabilization judged against the ground truth of a synthetic clip, the same
 * way for any stabilizer (reshoot's or vid.stab): from F_t, the map from input
 * frame t to output frame t (known for reshoot, measured from the pixels for a
 * black box), the output frame shows the source "view" W_t = camera_t ∘ F_t^-1.
 * An ideal stabilizer shows the intentional view up to one fixed zoom and
 * offset. The deviation D_t = Cint_t^-1 ∘ W_t, decomposed about the frame
 * centre, minus its mean over the clip, is what is left of the shake (plus
 * any intentional motion that was lost); its Gaussian low-pass is the
 * intentional-motion error.
 */
import { cameraMatrix, type GroundTruth, type Affine2x3 } from '../datasets/index.js';
import { compose, invert, toParams, type Mat2x3, type PathParams } from '../stabilize/index.js';
import { gaussianFilter1D } from '../stabilize/index.js';
import { ReshootError } from '../util/errors.js';
import type { PxDeg } from './stabilization.js';

const DEG = 180 / Math.PI;

export const flatten = (m: Affine2x3): Mat2x3 => [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2]];

/** Camera matrices of the intentional path alone (no shake), same convention as gt.camera. */
export function intentionalCameras(gt: GroundTruth): Mat2x3[] {
  const anchor = gt.spec.anchor ?? { x: 0, y: 0 };
  const cs = { x: (gt.source.width - 1) / 2 + anchor.x, y: (gt.source.height - 1) / 2 + anchor.y };
  const co = { x: (gt.width - 1) / 2, y: (gt.height - 1) / 2 };
  return gt.intentional.map((pose) => flatten(cameraMatrix(pose, gt.spec.sourceScale ?? 1, cs, co)));
}

export interface TruthComparison {
  /** RMS of the deviation from the intentional view, mean removed (output px, deg). */
  residualShake: PxDeg;
  /** RMS of the deviation's low-pass (sigma frames), mean removed: intentional motion lost or added. */
  intentionalError: PxDeg;
  /** RMS of the deviation minus its low-pass: the ground-truth counterpart of residualJitter. */
  highFrequencyShake: PxDeg;
  /** Per-frame deviation (mean not removed), for plots. */
  deviation: PathParams[];
}

function rmsAboutMean(v: Float64Array): number {
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / v.length);
}

/**
 * Compares a stabilizer's per-frame input->output maps with the clip's ground truth.
 * `inputToOutput[t]` maps input frame t pixels to output frame t pixels.
 */
export function compareWithTruth(inputToOutput: Mat2x3[], gt: GroundTruth, sigma = 15): TruthComparison {
  if (inputToOutput.length !== gt.camera.length) {
    throw new ReshootError(`ground truth has ${gt.camera.length} frames, the stabilized clip ${inputToOutput.length}`);
  }
  const intended = intentionalCameras(gt);
  const deviation = inputToOutput.map((F, t) => {
    const view = compose(flatten(gt.camera[t]), invert(F)); // output px -> source px
    return toParams(compose(invert(intended[t]), view), gt.width, gt.height);
  });
  const channel = (k: 'x' | 'y' | 'angle') => Float64Array.from(deviation, (d) => d[k]);
  const summarize = (x: Float64Array, y: Float64Array, a: Float64Array): PxDeg => {
    const rx = rmsAboutMean(x);
    const ry = rmsAboutMean(y);
    return { px: Math.hypot(rx, ry), deg: rmsAboutMean(a) * DEG, x: rx, y: ry };
  };
  const [x, y, a] = [channel('x'), channel('y'), channel('angle')];
  const [lx, ly, la] = [gaussianFilter1D(x, sigma), gaussianFilter1D(y, sigma), gaussianFilter1D(a, sigma)];
  const minus = (u: Float64Array, v: Float64Array) => u.map((w, i) => w - v[i]);
  return {
    residualShake: summarize(x, y, a),
    intentionalError: summarize(lx, ly, la),
    highFrequencyShake: summarize(minus(x, lx), minus(y, ly), minus(a, la)),
    deviation,
  };
}
