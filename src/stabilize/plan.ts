/**
 * Glue for the middle of the stage: inter-frame motions -> trajectory ->
 * smoothed path -> corrections and zoom, shot by shot. Pure, no frames involved.
 */
import { ReshootError } from '../util/errors.js';
import { shotsFromCuts, validateShots, type Shot } from '../shots/detect.js';
import { planCorrections, type BorderPolicy, type CorrectionPlan } from './correction.js';
import { accumulatePath, constrained, gaussian, gaussianFilter1D, l1, movingAverage, pathMatrices, type L1Options, type SmootherName } from './smooth.js';
import { compose3, cornersOf, homographyFrom4, invert3, toMat3, type Mat3x3 } from '../geometry/homography.js';
import type { Mat2x3, PathParams } from './similarity.js';

export interface PlanStabilizationOptions {
  width: number;
  height: number;
  /** Default 'l1' (measured best in bench/stabilization.ts). */
  smoother?: SmootherName;
  /** moving-average window (default 30). */
  window?: number;
  /** gaussian sigma (default 15). */
  sigma?: number;
  /** constrained / l1: crop budget as a zoom (default 1.1 for constrained, 1.2 for l1). */
  maxCropZoom?: number;
  /** l1: which path (default 'hybrid'; 'auto' is the earlier whole-clip still-or-moving choice). */
  l1Path?: L1Options['path'];
  border?: BorderPolicy;
  zoom?: number;
  maxZoom?: number;
  adaptiveSigma?: number;
  /** 'zoom' border: least coverage of every output frame (default 1; see PlanOptions.minCoverage). */
  minCoverage?: number;
  /**
   * Shots (frames [start, end), tiling the clip); default one shot. Every shot
   * is planned on its own: its trajectory restarts at identity on its first
   * frame (the motion across a cut is meaningless) and no smoothing window
   * reaches across a cut.
   */
  shots?: Shot[];
  /**
   * Per frame, the inter-frame homography (frame t-1 px -> frame t px) where
   * the motion analysis chose one (motionModel 'homography' / 'auto'),
   * undefined where the pair uses its similarity (`motions[t]`). See
   * homographyCorrections.
   */
  homographies?: (Mat3x3 | undefined)[];
  /** Sigma (frames) of the low-pass that keeps the slow part of the non-similarity residual (default 15). */
  homographySigma?: number;
}

export interface StabilizationPlan {
  trajectory: PathParams[];
  smoothed: PathParams[];
  plan: CorrectionPlan;
}

export function planStabilization(motions: Mat2x3[], opts: PlanStabilizationOptions): StabilizationPlan {
  const { width, height } = opts;
  const name = opts.smoother ?? 'l1';
  const smooth = (path: PathParams[]): PathParams[] => {
    if (name === 'moving-average') return movingAverage(path, { window: opts.window });
    if (name === 'gaussian') return gaussian(path, { sigma: opts.sigma });
    if (name === 'constrained') return constrained(path, { width, height, maxZoom: opts.maxCropZoom });
    if (name === 'l1') return l1(path, { width, height, maxZoom: opts.maxCropZoom, path: opts.l1Path });
    throw new ReshootError(`smoother must be moving-average, gaussian, constrained or l1, got '${String(name)}'`);
  };
  const shots = opts.shots ?? shotsFromCuts([], motions.length);
  validateShots(shots, motions.length);
  const trajectory: PathParams[] = [];
  const smoothed: PathParams[] = [];
  for (const s of shots) {
    // accumulatePath ignores its first motion: the shot's first frame is its reference.
    const path = accumulatePath(motions.slice(s.start, s.end), width, height);
    trajectory.push(...path);
    smoothed.push(...smooth(path));
  }
  let exact: (Mat3x3 | undefined)[] | undefined;
  if (opts.homographies) {
    if (opts.homographies.length !== motions.length) throw new ReshootError(`${opts.homographies.length} homographies for ${motions.length} motions`);
    exact = new Array(motions.length).fill(undefined);
    for (const s of shots) {
      const hs = opts.homographies.slice(s.start, s.end);
      if (!hs.some((m, i) => i > 0 && m)) continue; // the shot is all similarity: its corrections stay 2x3
      const c = homographyCorrections(motions.slice(s.start, s.end), hs, trajectory.slice(s.start, s.end), smoothed.slice(s.start, s.end), width, height, opts.homographySigma);
      for (let i = 0; i < c.length; i++) exact[s.start + i] = c[i];
    }
    if (!exact.some(Boolean)) exact = undefined;
  }
  const plan = planCorrections(trajectory, smoothed, {
    width, height, border: opts.border, zoom: opts.zoom, maxZoom: opts.maxZoom, adaptiveSigma: opts.adaptiveSigma, minCoverage: opts.minCoverage, homographies: exact,
  });
  return { trajectory, smoothed, plan };
}

/**
 * Corrections of one shot with homographies. H_t = Hm_t ∘ H_{t-1} (H_0 =
 * identity; Hm_t the pair's homography, or its similarity where the rule
 * fell back) is the camera path the homographies describe; P_t (the
 * similarity path) explains part of it, and E_t = P_t^-1 ∘ H_t is the rest
 * (frame-0 px -> frame-0 px: perspective, keystone, rolling-shutter-like
 * wobble). Its slow part is intended (a dolly over a plane changes the
 * perspective on purpose), its fast part is shake: E_t is described by where
 * it moves the four frame corners, those eight curves are low-passed
 * (Gaussian, `sigma` frames, point-reflected ends) into Ē_t, and the
 * correction is C'_t = S_t ∘ Ē_t ∘ E_t^-1 ∘ P_t^-1 (source px -> stabilized
 * px, zoom not included). With every Hm_t a similarity, E_t = Ē_t = identity
 * and C'_t = S_t ∘ P_t^-1, the similarity correction.
 */
export function homographyCorrections(
  motions: Mat2x3[], homographies: (Mat3x3 | undefined)[], raw: PathParams[], smoothed: PathParams[], width: number, height: number, sigma = 15,
): Mat3x3[] {
  const n = motions.length;
  const P = pathMatrices(raw, width, height).map(toMat3);
  const S = pathMatrices(smoothed, width, height).map(toMat3);
  const corner0 = cornersOf(toMat3([1, 0, 0, 0, 1, 0]), width, height);
  const E: Mat3x3[] = [];
  const shift: Float64Array[] = Array.from({ length: 8 }, () => new Float64Array(n));
  let H = toMat3([1, 0, 0, 0, 1, 0]);
  for (let t = 0; t < n; t++) {
    if (t > 0) H = compose3(homographies[t] ?? toMat3(motions[t]), H);
    const e = compose3(invert3(P[t]), H);
    E.push(e);
    const c = cornersOf(e, width, height);
    for (let k = 0; k < 8; k++) shift[k][t] = c[k] - corner0[k];
  }
  const slow = shift.map((v) => gaussianFilter1D(v, sigma));
  return E.map((e, t) => {
    const target = corner0.map((v, k) => v + slow[k][t]);
    const eSlow = homographyFrom4(corner0, target);
    return compose3(S[t], compose3(eSlow, compose3(invert3(e), invert3(P[t]))));
  });
}
