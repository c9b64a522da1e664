/**
 * Phase 1 of stabilization: inter-frame camera motion from sparse feature
 * tracks. Shi-Tomasi corners on the previous frame, pyramidal Lucas-Kanade
 * forward and backward (round-trip check), then a robust similarity (our own
 * RANSAC over 2-point samples + least-squares refit; OpenCV.js lacks
 * estimateAffinePartial2D) or an affine model (cv.estimateAffine2D, RANSAC).
 *
 * Convention: MotionEstimate.matrix maps pixel coordinates of the PREVIOUS
 * frame to pixel coordinates of the NEXT frame (where a scene point seen at p
 * in prev is seen at matrix(p) in next).
 */
import type { Mat } from '@techstark/opencv-js';
import { loadOpenCV, type CV } from '../cv/opencv.js';
import type { Frame, GrayFrame, ProgressFn } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { mulberry32 } from '../util/rng.js';
import { compose, identity, invert, type Mat2x3 } from './similarity.js';
import { applyPoint3, compose3, depthAt, invert3, normalize3, toMat3, type Mat3x3 } from '../geometry/homography.js';
import { detectCorners, lkTrack, TRACKER_DEFAULTS, type TrackerOptions } from '../flow/tracks.js';

export type MotionModel = 'similarity' | 'affine';
/**
 * The model of the per-frame correction (issue 14): 'similarity' (default:
 * the path and the warp are similarities); 'homography': each pair also gets
 * a homography fitted on the same tracks, used whenever it is usable (enough
 * inliers spread over the frame, well-conditioned, no extreme perspective;
 * `homographyChoice`); 'auto': used only when it also fits clearly better than
 * a similarity. The path is still smoothed as a similarity; the homography's
 * extra part adds a per-frame correction (plan.ts).
 */
export type CorrectionModel = 'similarity' | 'homography' | 'auto';
/**
 * Why a pair's motion is identity: too few tracks / inliers / an implausible
 * fit; 'too-few-background-points' when the exclusion mask left too few
 * tracks (the person fills most of the frame); 'cut' on the first frame of a
 * shot (set by analyzeVideo, the motion across a cut means nothing).
 */
export type MotionFallback = 'too-few-points' | 'too-few-inliers' | 'implausible-motion' | 'too-few-background-points' | 'cut';

/** The tracker's options (src/flow/tracks.ts; px at estimation scale) plus the motion model's. */
export interface MotionOptions extends TrackerOptions {
  /** 'similarity' (default; 4 dof) or 'affine' (6 dof). */
  model?: MotionModel;
  /** RANSAC inlier threshold, px at estimation scale (default 1.5). */
  ransacThreshold?: number;
  /** RANSAC iteration cap (default 500; adaptive stop earlier). */
  ransacIterations?: number;
  /** Fewer surviving tracks or inliers than this gives identity + fallback (default 8). */
  minInliers?: number;
  /**
   * Estimate on a frame downscaled by this factor (>= 1, default 1); the matrix is
   * returned in full-size coordinates. 'auto': the factor that brings the long
   * side down to `analysisSize` (never upscales).
   */
  downscale?: number | 'auto';
  /** Long side, px, of the analysed frame with downscale 'auto' (default 320). */
  analysisSize?: number;
  /**
   * Streaming (MotionAnalyzer, analyzeMotion, analyzeMotionParallel): corners are
   * detected afresh on every frame whose index is a multiple of this (default 1 =
   * every frame); in between, the inlier tracks of the previous pair are tracked
   * on (KLT style). Also the block length analyzeMotionParallel hands each worker.
   */
  keyframeInterval?: number;
  /** Between keyframes, re-detect when fewer than this fraction of maxCorners tracks survive (default 0.5). */
  redetectFraction?: number;
  /**
   * Forward-backward round trip: 'all' (default) on every pair; 'new-tracks' only
   * on pairs that start from freshly detected corners: carried tracks, which
   * passed it when they were new and have been RANSAC inliers on every pair
   * since, are checked by RANSAC alone (saves the backward LK pass, about 40 %
   * of a pair).
   */
  roundTrip?: 'all' | 'new-tracks';
  /** Extra margin around the exclusion mask, px at estimation scale (default 4): corners there are not used. */
  maskMargin?: number;
  /**
   * Tracks farther than this from the exclusion mask, px at estimation scale
   * (default 12), are surely background: with a mask, RANSAC fits on them
   * first and the tracks nearer the person are kept only when they agree with
   * that fit (a person's limbs the mask missed move with the person, not the
   * camera). When fewer than minInliers such tracks exist, all tracks are used.
   */
  backgroundMargin?: number;
  /**
   * Between keyframes, fit each frame to the keyframe (default true): the
   * RANSAC runs on keyframe position -> position now of every carried track,
   * and the pair's motion is that fit composed with the inverse of the
   * previous one. A character that moves slowly (under the inlier threshold
   * from one frame to the next, so a per-pair fit averages it with the
   * background) has drifted past the threshold a few frames after the
   * keyframe and drops out; the path within a keyframe interval does not
   * accumulate per-pair error. false: per-pair fits (the earlier behaviour).
   */
  anchored?: boolean;
  /** anchored: a track's RANSAC vote is 1 + min(pairs it has agreed with the anchor fit, ageWeight) (default 10; 0: one vote each). */
  ageWeight?: number;
  /** Per-frame correction model (default 'similarity'; see CorrectionModel). */
  motionModel?: CorrectionModel;
  /** Homography RANSAC reprojection threshold, px at estimation scale (default 0.5). */
  homographyThreshold?: number;
  /** RANSAC seed (default 1): results are reproducible. */
  seed?: number;
  /** Keep the point tracks in the result (for plots). */
  keepTracks?: boolean;
}

export interface MotionEstimate {
  /** 2x3 row-major, prev pixel coords -> next pixel coords (full size). Identity when `fallback` is set. */
  matrix: Mat2x3;
  model: MotionModel;
  /** Points started on prev: corners detected outside the mask, or tracks carried from the previous pair (keyframeInterval > 1). */
  corners: number;
  /** Tracks that survived LK status, the round-trip check and the mask. */
  tracked: number;
  /** RANSAC inliers (0 on fallback before RANSAC). */
  inliers: number;
  /** RMS residual of the inliers, px at full size (NaN when not fitted). */
  rmsError: number;
  /** Set when no trustworthy motion could be estimated: matrix is then identity (never invented). */
  fallback?: MotionFallback;
  /**
   * motionModel 'homography' | 'auto': the pair's homography (prev px -> next
   * px, full size, h8 = 1) when the rule picked it; absent: the pair uses the similarity.
   */
  homography?: Mat3x3;
  /** motionModel 'homography' | 'auto': 'homography', or 'similarity: <why the homography was not used>'. */
  modelChoice?: string;
  /** Only with keepTracks: surviving tracks (full-size px), flattened x,y pairs, and the inlier flags. */
  tracks?: { from: Float32Array; to: Float32Array; inlier: Uint8Array };
}

const DEFAULTS = {
  model: 'similarity' as MotionModel,
  ...TRACKER_DEFAULTS,
  ransacThreshold: 1.5,
  ransacIterations: 500,
  minInliers: 8,
  downscale: 1 as number | 'auto',
  analysisSize: 320,
  keyframeInterval: 1,
  redetectFraction: 0.5,
  roundTrip: 'all' as 'all' | 'new-tracks',
  maskMargin: 4,
  backgroundMargin: 12,
  anchored: true,
  ageWeight: 10,
  motionModel: 'similarity' as CorrectionModel,
  homographyThreshold: 0.5,
  seed: 1,
  keepTracks: false,
};
type ResolvedOptions = typeof DEFAULTS;

export function resolveMotionOptions(opts: MotionOptions = {}): ResolvedOptions {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as ResolvedOptions;
  if (o.model !== 'similarity' && o.model !== 'affine') {
    throw new ReshootError(`motion model must be 'similarity' or 'affine', got '${String(o.model)}'`);
  }
  if (o.downscale !== 'auto' && (!(o.downscale >= 1) || !Number.isFinite(o.downscale))) {
    throw new ReshootError(`downscale must be 'auto' or a number >= 1, got ${String(o.downscale)}`);
  }
  if (!(Number.isInteger(o.keyframeInterval) && o.keyframeInterval >= 1)) {
    throw new ReshootError(`keyframeInterval must be a whole number >= 1, got ${String(o.keyframeInterval)}`);
  }
  if (o.roundTrip !== 'all' && o.roundTrip !== 'new-tracks') {
    throw new ReshootError(`roundTrip must be 'all' or 'new-tracks', got '${String(o.roundTrip)}'`);
  }
  if (!(o.redetectFraction >= 0 && o.redetectFraction <= 1)) {
    throw new ReshootError(`redetectFraction must be in [0, 1], got ${String(o.redetectFraction)}`);
  }
  if (!['similarity', 'homography', 'auto'].includes(o.motionModel)) {
    throw new ReshootError(`motionModel must be 'similarity', 'homography' or 'auto', got '${String(o.motionModel)}'`);
  }
  if (!(typeof o.ageWeight === 'number' && o.ageWeight >= 0 && Number.isFinite(o.ageWeight))) {
    throw new ReshootError(`ageWeight must be a number >= 0, got ${String(o.ageWeight)}`);
  }
  for (const k of ['maxCorners', 'quality', 'minDistance', 'winSize', 'fbThreshold', 'ransacThreshold', 'ransacIterations', 'minInliers', 'analysisSize', 'homographyThreshold'] as const) {
    if (!(typeof o[k] === 'number' && o[k] > 0 && Number.isFinite(o[k]))) {
      throw new ReshootError(`motion option ${k} must be a positive number, got ${String(o[k])}`);
    }
  }
  return o;
}

/**
 * Defaults the video stage (analyzeMotion, analyzeMotionParallel, hence
 * analyzeVideo / stabilizeVideo) puts under the caller's options: estimate at
 * about 320 px on the long side, re-detect corners every 20th frame (tracks
 * carried in between), 200 corners, 11 px LK window (3 pyramid levels, as
 * before), forward-backward check on new tracks only, RANSAC inlier threshold 0.7 px (at the analysis size). Measured in bench/motion-speed.ts: several times faster; per-pair
 * error against the ground truth still under 0.1 px on average (640x480). estimateMotion and
 * MotionAnalyzer.create keep the exact per-pair defaults (the metrics use them).
 */
export const VIDEO_MOTION_DEFAULTS: Readonly<MotionOptions> = Object.freeze({
  downscale: 'auto',
  analysisSize: 320,
  // 20 (10 before): longer tracks, fewer detections and round trips; on the issue-14 cases the
  // tripod drift fell 0.28 -> 0.19 px and no case got worse (bench/stabilization-paths.ts --measured)
  keyframeInterval: 20,
  maxCorners: 200,
  winSize: 11,
  maxLevel: 3,
  roundTrip: 'new-tracks',
  // 0.2 px at the analysis size (1.5, then 0.7 before): slow walkers and characters inside the
  // threshold pull the fit. With anchored fits (issue 12), 0.7 -> 0.2: megamind-shake 5.10 -> 3.35 px,
  // montage-shake 2.39 -> 2.20 px, tripod-walkers corner drift 0.19 -> 0.12 px; the other issue-14
  // cases within 0.03 px (src/stabilize/README.md "Moving characters")
  ransacThreshold: 0.2,
});

/** `opts` over VIDEO_MOTION_DEFAULTS (undefined values do not override). */
export function videoMotionOptions(opts: MotionOptions = {}): MotionOptions {
  return { ...VIDEO_MOTION_DEFAULTS, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) };
}

/** The downscale factor used for a frame of this size. */
export function downscaleFactor(o: Pick<ResolvedOptions, 'downscale' | 'analysisSize'>, width: number, height: number): number {
  if (o.downscale !== 'auto') return o.downscale;
  return Math.max(1, Math.max(width, height) / o.analysisSize);
}

// ---------------------------------------------------------------- similarity fitting

/**
 * Closed-form least-squares similarity x' = a x - b y + tx, y' = b x + a y + ty
 * over the points whose index is in `idx` (all when undefined). Returns null
 * when degenerate (all points coincide).
 */
export function fitSimilarityLS(from: ArrayLike<number>, to: ArrayLike<number>, idx?: ArrayLike<number>): Mat2x3 | null {
  const n = idx ? idx.length : from.length / 2;
  if (n < 2) return null;
  const at = (k: number) => (idx ? idx[k] : k);
  let mx = 0, my = 0, nx = 0, ny = 0;
  for (let k = 0; k < n; k++) {
    const i = at(k);
    mx += from[2 * i]; my += from[2 * i + 1]; nx += to[2 * i]; ny += to[2 * i + 1];
  }
  mx /= n; my /= n; nx /= n; ny /= n;
  let suu = 0, sa = 0, sb = 0;
  for (let k = 0; k < n; k++) {
    const i = at(k);
    const ux = from[2 * i] - mx, uy = from[2 * i + 1] - my;
    const vx = to[2 * i] - nx, vy = to[2 * i + 1] - ny;
    suu += ux * ux + uy * uy;
    sa += ux * vx + uy * vy;
    sb += ux * vy - uy * vx;
  }
  if (suu < 1e-9) return null;
  const a = sa / suu, b = sb / suu;
  return [a, -b, nx - (a * mx - b * my), b, a, ny - (b * mx + a * my)];
}

function residuals2(m: Mat2x3, from: ArrayLike<number>, to: ArrayLike<number>, out: Float64Array): void {
  const n = from.length / 2;
  for (let i = 0; i < n; i++) {
    const x = from[2 * i], y = from[2 * i + 1];
    const dx = m[0] * x + m[1] * y + m[2] - to[2 * i];
    const dy = m[3] * x + m[4] * y + m[5] - to[2 * i + 1];
    out[i] = dx * dx + dy * dy;
  }
}

/**
 * Robust similarity: RANSAC over 2-point minimal samples (exact similarity
 * through two correspondences), adaptive iteration count (99.9 % confidence),
 * then two rounds of least-squares refit on the inliers and re-selection.
 */
export function ransacSimilarity(
  from: ArrayLike<number>,
  to: ArrayLike<number>,
  opts: { threshold?: number; maxIterations?: number; seed?: number; weights?: ArrayLike<number> } = {},
): { matrix: Mat2x3; inlier: Uint8Array; inliers: number; rmsError: number } | null {
  const wt = opts.weights;
  const n = from.length / 2;
  // The weighted inlier fraction's denominator, for the adaptive iteration count.
  let totalWeight = 0;
  if (wt) for (let k = 0; k < n; k++) totalWeight += wt[k];
  const thr2 = (opts.threshold ?? 1.5) ** 2;
  const maxIt = opts.maxIterations ?? 500;
  const rand = mulberry32(opts.seed ?? 1);
  const r2 = new Float64Array(n);
  let best: Mat2x3 | null = null;
  let bestCount = -1;
  let bestCost = Infinity;
  let needed = maxIt;
  for (let it = 0; it < Math.min(maxIt, needed) && n >= 2; it++) {
    const i = Math.floor(rand() * n);
    let j = Math.floor(rand() * (n - 1));
    if (j >= i) j++;
    const m = fitSimilarityLS(from, to, [i, j]);
    if (!m) continue;
    residuals2(m, from, to, r2);
    let count = 0, cost = 0;
    for (let k = 0; k < n; k++) {
      if (r2[k] < thr2) { count += wt ? wt[k] : 1; cost += r2[k]; } else cost += thr2;
    }
    if (count > bestCount || (count === bestCount && cost < bestCost)) {
      best = m; bestCount = count; bestCost = cost;
      let w = count / n;
      if (wt) w = Math.min(1, count / totalWeight);
      const p = 1 - w * w;
      needed = p <= 1e-12 ? 1 : Math.min(maxIt, Math.ceil(Math.log(1 - 0.999) / Math.log(p)));
    }
  }
  if (!best || bestCount < 2) return null;
  let m = best;
  let inlier = new Uint8Array(n);
  for (let round = 0; round < 3; round++) {
    residuals2(m, from, to, r2);
    const idx: number[] = [];
    const next = new Uint8Array(n);
    for (let k = 0; k < n; k++) if (r2[k] < thr2) { idx.push(k); next[k] = 1; }
    inlier = next;
    if (idx.length < 2) break;
    const refit = fitSimilarityLS(from, to, idx);
    if (!refit) break;
    m = refit;
  }
  residuals2(m, from, to, r2);
  let count = 0, ss = 0;
  for (let k = 0; k < n; k++) if (r2[k] < thr2) { inlier[k] = 1; count++; ss += r2[k]; } else inlier[k] = 0;
  return { matrix: m, inlier, inliers: count, rmsError: count ? Math.sqrt(ss / count) : NaN };
}

/**
 * All tracks judged by a fit made on a subset (the background): inliers are
 * those within `threshold`, then one least-squares refit on them and a final
 * re-selection (as ransacSimilarity ends).
 */
function refitAll(m0: Mat2x3, from: ArrayLike<number>, to: ArrayLike<number>, threshold: number): { matrix: Mat2x3; inlier: Uint8Array; inliers: number; rmsError: number } | null {
  const n = from.length / 2;
  const thr2 = threshold * threshold;
  const r2 = new Float64Array(n);
  let m = m0;
  for (let round = 0; round < 2; round++) {
    residuals2(m, from, to, r2);
    const idx: number[] = [];
    for (let k = 0; k < n; k++) if (r2[k] < thr2) idx.push(k);
    const refit = fitSimilarityLS(from, to, idx);
    if (!refit) return null;
    m = refit;
  }
  residuals2(m, from, to, r2);
  const inlier = new Uint8Array(n);
  let count = 0, ss = 0;
  for (let k = 0; k < n; k++) if (r2[k] < thr2) { inlier[k] = 1; count++; ss += r2[k]; }
  return { matrix: m, inlier, inliers: count, rmsError: count ? Math.sqrt(ss / count) : NaN };
}

// ---------------------------------------------------------------- OpenCV helpers

/**
 * Pixel-centre-exact map from full-size coordinates (W x H) to coordinates in the
 * resized frame (w x h): x_small = (x + 0.5) w / W - 0.5 (per axis, so rounded
 * sizes stay exact).
 */
export function downscaleMap(W: number, H: number, w: number, h: number): Mat2x3 {
  const sx = w / W, sy = h / H;
  return [sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5];
}

export function scaledSize(width: number, height: number, f: number): { w: number; h: number } {
  if (f === 1) return { w: width, h: height };
  return { w: Math.max(8, Math.round(width / f)), h: Math.max(8, Math.round(height / f)) };
}

function grayMat(cv: CV, g: GrayFrame, f: number, interpolation: number): Mat {
  if (g.data.length !== g.width * g.height) {
    throw new ReshootError(`gray frame data has ${g.data.length} bytes, expected ${g.width}x${g.height} = ${g.width * g.height}`);
  }
  const m = cv.matFromArray(g.height, g.width, cv.CV_8UC1, g.data as unknown as number[]);
  const { w, h } = scaledSize(g.width, g.height, f);
  if (w === g.width && h === g.height) return m;
  const out = new cv.Mat();
  try {
    cv.resize(m, out, new cv.Size(w, h), 0, 0, interpolation);
  } finally {
    m.delete();
  }
  return out;
}

/** "Allowed" mask for corner detection: 255 where the exclusion mask is zero (after a margin of `margin` px at estimation scale), else 0. */
function allowedMask(cv: CV, mask: GrayFrame, f: number, margin: number, w: number, h: number): Mat {
  const src = grayMat(cv, mask, f, cv.INTER_NEAREST);
  const dil = new cv.Mat();
  try {
    if (src.cols !== w || src.rows !== h) {
      throw new ReshootError(`exclusion mask is ${mask.width}x${mask.height}, frame is ${Math.round(w * f)}x${Math.round(h * f)}`);
    }
    const r = Math.round(margin);
    if (r > 0) {
      const k = cv.getStructuringElement(cv.MORPH_ELLIPSE, new cv.Size(2 * r + 1, 2 * r + 1));
      try {
        cv.dilate(src, dil, k);
      } finally {
        k.delete();
      }
    } else src.copyTo(dil);
    const d = dil.data as Uint8Array;
    for (let i = 0; i < d.length; i++) d[i] = d[i] ? 0 : 255;
    return dil.clone();
  } finally {
    src.delete();
    dil.delete();
  }
}

export interface PreparedFrame {
  gray: Mat;
  /** 255 = corners may be used, 0 = excluded; undefined = all allowed. */
  allowed?: Mat;
  /** 255 = farther than backgroundMargin from the mask (surely background); only with a mask. */
  far?: Mat;
  /** Full-size dimensions. */
  width: number;
  height: number;
}

/** Converts a GrayFrame (+ optional exclusion mask, non-zero = excluded) to Mats at estimation scale. Caller deletes via releasePrepared. */
export function prepareFrame(cv: CV, g: GrayFrame, mask: GrayFrame | undefined, o: ResolvedOptions): PreparedFrame {
  const f = downscaleFactor(o, g.width, g.height);
  const gray = grayMat(cv, g, f, cv.INTER_AREA);
  let allowed: Mat | undefined;
  let far: Mat | undefined;
  try {
    if (mask) {
      allowed = allowedMask(cv, mask, f, o.maskMargin, gray.cols, gray.rows);
      far = allowedMask(cv, mask, f, Math.max(o.maskMargin, o.backgroundMargin), gray.cols, gray.rows);
    }
  } catch (e) {
    gray.delete();
    allowed?.delete();
    throw e;
  }
  return { gray, allowed, far, width: g.width, height: g.height };
}

export function releasePrepared(p: PreparedFrame | undefined): void {
  p?.gray.delete();
  p?.allowed?.delete();
  p?.far?.delete();
}

function fallbackResult(o: ResolvedOptions, reason: MotionFallback, corners: number, tracked: number, inliers = 0): MotionEstimate {
  return { matrix: identity(), model: o.model, corners, tracked, inliers, rmsError: NaN, fallback: reason };
}

/**
 * Point carry between consecutive pairs (KLT-style tracking). `start`: points on
 * prev at estimation scale (x,y pairs) to track instead of detecting corners;
 * used when at least redetectFraction * maxCorners of them are left. After the
 * call `carry` holds the inlier tracks' positions on next (estimation scale),
 * or undefined when the pair fell back.
 */
export interface TrackCarry {
  start?: Float32Array;
  carry?: Float32Array;
  /** anchored: the positions of `start` / `carry` on the anchor (keyframe), estimation scale. */
  startAnchor?: Float32Array;
  carryAnchor?: Float32Array;
  /** anchored: pairs each start / carry track has been an inlier since it joined the anchor. */
  startAge?: Float32Array;
  carryAge?: Float32Array;
  /** anchored: anchor px -> prev px (start) / -> next px (carry), estimation scale. */
  startFit?: Mat2x3;
  carryFit?: Mat2x3;
  /** anchored, motionModel 'homography' / 'auto': the homography anchor px -> prev px (start) / -> next px (carry). */
  startFitH?: Mat3x3;
  carryFitH?: Mat3x3;
  /** Set by the call: true when corners were detected (not carried). */
  detected?: boolean;
}

/** Core estimate between two prepared frames (same size). */
export function estimatePrepared(cv: CV, prev: PreparedFrame, next: PreparedFrame, o: ResolvedOptions, track?: TrackCarry): MotionEstimate {
  if (prev.width !== next.width || prev.height !== next.height) {
    throw new ReshootError(`frames differ in size: ${prev.width}x${prev.height} then ${next.width}x${next.height}`);
  }
  if (track) {
    track.carry = undefined;
    track.carryAnchor = undefined;
    track.carryFit = undefined;
    track.carryFitH = undefined;
    track.carryAge = undefined;
    track.detected = false;
  }
  let corners: Mat | undefined;
  try {
    const start = track?.start;
    const carried = !!start && start.length / 2 >= Math.max(o.minInliers, o.redetectFraction * o.maxCorners);
    // anchored, between keyframes: the surviving tracks keep their anchor when corners are detected again
    const keepOld = !carried && o.anchored && !!start?.length && !!track?.startAnchor && !!track.startFit;
    let survivors = 0;
    if (carried) corners = cv.matFromArray(start.length / 2, 1, cv.CV_32FC2, start as unknown as number[]);
    else {
      corners = detectCorners(cv, prev.gray, o, prev.allowed);
      if (track) track.detected = true;
      if (keepOld) {
        const fresh = corners.data32F as Float32Array;
        const pts = Array.from(start!);
        const d2 = o.minDistance * o.minDistance;
        for (let i = 0; i < fresh.length && pts.length < 2 * o.maxCorners; i += 2) {
          let near = false;
          for (let k = 0; k < start!.length && !near; k += 2) near = (fresh[i] - start![k]) ** 2 + (fresh[i + 1] - start![k + 1]) ** 2 < d2;
          if (!near) pts.push(fresh[i], fresh[i + 1]);
        }
        corners.delete();
        corners = cv.matFromArray(pts.length / 2, 1, cv.CV_32FC2, pts);
        survivors = start!.length / 2;
      }
    }
    const nCorners = corners.rows;
    // With a mask, "too few" means the person covers the frame, not a textureless one.
    const few: MotionFallback = prev.allowed || next.allowed ? 'too-few-background-points' : 'too-few-points';
    if (nCorners < o.minInliers) return fallbackResult(o, few, nCorners, 0);
    // Carried tracks passed the round trip when new and have been inliers since (roundTrip 'new-tracks').
    const lk = lkTrack(cv, prev.gray, next.gray, corners, o, !carried || o.roundTrip === 'all');
    const w = next.gray.cols, h = next.gray.rows;
    const nextAllowed = next.allowed ? (next.allowed.data as Uint8Array) : undefined;
    const from: number[] = [];
    const to: number[] = [];
    // anchored: fit anchor -> next; the anchor of fresh corners is prev itself
    // Corners detected again between keyframes (too few tracks left) join the same anchor:
    // their anchor position is where the current fit says they were on the anchor frame.
    let anchorIn: ArrayLike<number> | undefined;
    if (o.anchored && track?.startFit && (carried ? track.startAnchor : true)) {
      if (carried) anchorIn = track.startAnchor;
      else {
        const back = invert(track.startFit);
        const c = corners.data32F as Float32Array;
        const a = new Float32Array(c.length);
        if (keepOld) a.set(track.startAnchor!.subarray(0, 2 * survivors));
        for (let i = 2 * survivors; i < c.length; i += 2) {
          a[i] = back[0] * c[i] + back[1] * c[i + 1] + back[2];
          a[i + 1] = back[3] * c[i] + back[4] * c[i + 1] + back[5];
        }
        anchorIn = a;
      }
    }
    const anchorFit = anchorIn ? track!.startFit! : identity();
    const anc: number[] = [];
    const ageIn = anchorIn && o.ageWeight > 0 ? track!.startAge : undefined;
    const age: number[] = [];
    for (let i = 0; i < nCorners; i++) {
      if (!lk.ok[i]) continue;
      const x1 = lk.to[2 * i], y1 = lk.to[2 * i + 1];
      if (nextAllowed && !nextAllowed[Math.round(y1) * w + Math.round(x1)]) continue;
      from.push(lk.from[2 * i], lk.from[2 * i + 1]);
      to.push(x1, y1);
      if (anchorIn) anc.push(anchorIn[2 * i], anchorIn[2 * i + 1]);
      age.push(ageIn && i < ageIn.length && (carried || i < survivors) ? ageIn[i] : 0);
    }
    const src = anchorIn ? anc : from;
    const tracked = from.length / 2;
    if (tracked < o.minInliers) return fallbackResult(o, few, nCorners, tracked);
    // Background first: the fit is made on tracks far from the person, the rest must agree with it.
    let farIdx: number[] | undefined;
    if (prev.far) {
      const fd = prev.far.data as Uint8Array;
      const idx: number[] = [];
      for (let i = 0; i < tracked; i++) {
        const x = Math.round(from[2 * i]), y = Math.round(from[2 * i + 1]);
        if (x >= 0 && y >= 0 && x < w && y < h && fd[y * w + x]) idx.push(i);
      }
      if (idx.length >= o.minInliers && idx.length < tracked) farIdx = idx;
    }

    let small: Mat2x3;
    let fit: Mat2x3 | undefined;
    let inlier: Uint8Array;
    let inliers: number;
    let rms: number;
    if (o.model === 'similarity') {
      const sub = (p: number[]) => (farIdx ? farIdx.flatMap((i) => [p[2 * i], p[2 * i + 1]]) : p);
      // tracks that have agreed with the anchor fit for longer count more (up to 1 + ageWeight)
      const weights = ageIn ? (farIdx ? farIdx.map((i) => 1 + Math.min(age[i], o.ageWeight)) : age.map((a) => 1 + Math.min(a, o.ageWeight))) : undefined;
      let r = ransacSimilarity(sub(src), sub(to), { threshold: o.ransacThreshold, maxIterations: o.ransacIterations, seed: o.seed, weights });
      if (r && farIdx) r = refitAll(r.matrix, src, to, o.ransacThreshold);
      if (!r) return fallbackResult(o, 'too-few-inliers', nCorners, tracked);
      // anchored: the pair's motion is (anchor -> next) after (anchor -> prev)^-1
      fit = r.matrix;
      small = anchorIn ? compose(r.matrix, invert(anchorFit)) : r.matrix;
      inlier = r.inlier; inliers = r.inliers; rms = r.rmsError;
    } else {
      const a = cv.matFromArray(tracked, 1, cv.CV_32FC2, from);
      const b = cv.matFromArray(tracked, 1, cv.CV_32FC2, to);
      const inl = new cv.Mat();
      let m: Mat | undefined;
      try {
        m = cv.estimateAffine2D(a, b, inl, cv.RANSAC, o.ransacThreshold, 2000, 0.99, 10) as Mat;
        if (!m || m.rows !== 2 || m.cols !== 3) return fallbackResult(o, 'too-few-inliers', nCorners, tracked);
        small = Array.from(m.data64F as Float64Array);
        inlier = new Uint8Array(inl.data as Uint8Array);
        inliers = 0;
        let ss = 0;
        for (let i = 0; i < tracked; i++) {
          if (!inlier[i]) continue;
          inliers++;
          const ex = small[0] * from[2 * i] + small[1] * from[2 * i + 1] + small[2] - to[2 * i];
          const ey = small[3] * from[2 * i] + small[4] * from[2 * i + 1] + small[5] - to[2 * i + 1];
          ss += ex * ex + ey * ey;
        }
        rms = inliers ? Math.sqrt(ss / inliers) : NaN;
      } finally {
        a.delete(); b.delete(); inl.delete(); m?.delete();
      }
    }
    if (inliers < o.minInliers) return fallbackResult(o, 'too-few-inliers', nCorners, tracked, inliers);
    const S = downscaleMap(prev.width, prev.height, w, h);
    const Si = invert(S);
    const matrix = w === prev.width && h === prev.height ? small : compose(Si, compose(small, S));
    // Plausibility: a camera does not zoom by 2x or jump by half a frame between frames.
    const [sv1, sv2] = [Math.hypot(matrix[0], matrix[3]), Math.hypot(matrix[1], matrix[4])];
    if (!(sv1 > 0.67 && sv1 < 1.5 && sv2 > 0.67 && sv2 < 1.5) || Math.abs(matrix[2]) > prev.width || Math.abs(matrix[5]) > prev.height) {
      return fallbackResult(o, 'implausible-motion', nCorners, tracked, inliers);
    }
    if (track) {
      const carry = new Float32Array(2 * inliers);
      const carryAnchor = new Float32Array(2 * inliers);
      const carryAge = new Float32Array(inliers);
      for (let i = 0, k = 0; i < tracked; i++) if (inlier[i]) carryAge[k++] = age[i] + 1;
      for (let i = 0, k = 0; i < tracked; i++) {
        if (!inlier[i]) continue;
        carryAnchor[k] = src[2 * i];
        carry[k++] = to[2 * i];
        carryAnchor[k] = src[2 * i + 1];
        carry[k++] = to[2 * i + 1];
      }
      track.carry = carry;
      if (fit) {
        track.carryAnchor = carryAnchor;
        track.carryFit = fit;
        track.carryAge = carryAge;
      }
    }
    // rms in full-size px (mean of the two axis factors; they differ only by rounding)
    const out: MotionEstimate = { matrix, model: o.model, corners: nCorners, tracked, inliers, rmsError: rms * 0.5 * (Si[0] + Si[4]) };
    if (o.motionModel !== 'similarity') {
      // Anchored like the similarity: on carried tracks whose anchor the previous pair's homography
      // also saw, fit anchor -> next and divide out anchor -> prev (per-pair fits accumulate their
      // noise into the path); otherwise (fresh corners, or fresh ones mixed in) prev -> next.
      const anchoredH = carried && anchorIn && track?.startFitH;
      const choice = homographyChoice(cv, anchoredH ? src : from, to, w, h, o);
      let pairH: Mat3x3 | undefined;
      if (choice.fitted) {
        try {
          pairH = anchoredH ? compose3(choice.fitted, invert3(track!.startFitH!)) : choice.fitted;
        } catch {
          pairH = undefined;
        }
        // the next pair's anchor fit: anchor -> next (the anchor is prev itself when the corners are fresh here)
        if (track && o.anchored && (anchoredH || (!anchorIn && !keepOld))) track.carryFitH = choice.fitted;
      }
      out.modelChoice = choice.matrix && pairH ? choice.reason : choice.matrix ? 'similarity: ill-conditioned' : choice.reason;
      if (choice.matrix && pairH) {
        out.homography = w === prev.width && h === prev.height ? pairH : compose3(toMat3(Si), compose3(pairH, toMat3(S)));
        // Carry the homography's inliers: under perspective wobble few tracks agree with a similarity
        // within its threshold, and carrying only those would re-detect corners on every pair.
        if (track && choice.inlierIdx && fit) {
          const k = choice.inlierIdx;
          track.carry = Float32Array.from(k.flatMap((i) => [to[2 * i], to[2 * i + 1]]));
          track.carryAnchor = Float32Array.from(k.flatMap((i) => [src[2 * i], src[2 * i + 1]]));
          track.carryAge = Float32Array.from(k.map((i) => age[i] + 1));
        }
      }
    }
    if (o.keepTracks) {
      const mapPts = (p: number[]) => {
        const r = new Float32Array(p.length);
        for (let i = 0; i < p.length; i += 2) {
          r[i] = Si[0] * p[i] + Si[2];
          r[i + 1] = Si[4] * p[i + 1] + Si[5];
        }
        return r;
      };
      out.tracks = { from: mapPts(from), to: mapPts(to), inlier };
    }
    return out;
  } finally {
    corners?.delete();
  }
}

/** Limits of the per-pair homography rule (homographyChoice); px at estimation scale. */
export const HOMOGRAPHY_RULE = Object.freeze({
  /** At least this many homography inliers (and at least minInliers). */
  minInliers: 20,
  /** In each quadrant of the frame at least this many inliers: the fit is constrained over the whole frame. */
  minPerQuadrant: 3,
  /** Every frame corner's depth w (h8 = 1) within [1 / maxDepthRatio, maxDepthRatio]: no extreme perspective. */
  maxDepthRatio: 1.25,
  /** The homography's non-similarity part moves no frame corner further than this share of the frame diagonal. */
  maxCornerShift: 0.02,
  /** Singular values of the homography's linear part within [1 / maxScale, maxScale] (as the similarity's plausibility). */
  maxScale: 1.5,
  /** 'auto': RMS error of the homography on its inliers at most this share of the similarity's on the same points... */
  maxErrorRatio: 0.7,
  /** ...and lower by at least this many px (a gain within tracking noise is no gain). */
  minErrorGain: 0.03,
});

/**
 * The per-pair model rule of motionModel 'homography' and 'auto'. A
 * homography is fitted on the pair's tracks (prev px -> next px, estimation
 * scale; cv.findHomography, RANSAC with homographyThreshold) and used only
 * when, in this order:
 *  1. it has at least max(minInliers, 20) inliers,
 *  2. its inliers are spread over the frame (>= 3 in each quadrant),
 *  3. it is well-conditioned: depth w at every frame corner within [0.8, 1.25]
 *     and the singular values of its linear part within [0.67, 1.5],
 *  4. its perspective is not extreme: its part beyond the least-squares
 *     similarity of the same inliers moves no frame corner further than 2 %
 *     of the frame diagonal,
 *  5. ('auto' only) it fits clearly better: its RMS error on its inliers is at
 *     most 0.7 x that similarity's, and lower by at least 0.03 px.
 * Otherwise the pair falls back to the similarity; `reason` says which test failed.
 */
export function homographyChoice(
  cv: CV, from: ArrayLike<number>, to: ArrayLike<number>, w: number, h: number,
  o: Pick<ResolvedOptions, 'motionModel' | 'homographyThreshold' | 'minInliers'>,
): { matrix?: Mat3x3; fitted?: Mat3x3; inlierIdx?: number[]; reason: string; inliers: number; rmsHomography: number; rmsSimilarity: number } {
  const n = from.length / 2;
  const rule = HOMOGRAPHY_RULE;
  const need = Math.max(o.minInliers, rule.minInliers);
  let fitted: Mat3x3 | undefined;
  const no = (reason: string, inliers = 0, rmsHomography = NaN, rmsSimilarity = NaN) => ({ fitted, reason: `similarity: ${reason}`, inliers, rmsHomography, rmsSimilarity });
  if (n < need) return no('too few tracks');
  const a = cv.matFromArray(n, 1, cv.CV_32FC2, Array.from(from));
  const b = cv.matFromArray(n, 1, cv.CV_32FC2, Array.from(to));
  const mask = new cv.Mat();
  let H: Mat3x3;
  let m: Mat | undefined;
  try {
    m = cv.findHomography(a, b, cv.RANSAC, o.homographyThreshold, mask, 2000, 0.995) as Mat;
    if (!m || m.rows !== 3 || m.cols !== 3) return no('no homography found');
    H = normalize3(Array.from(m.data64F as Float64Array));
    fitted = H;
  } catch {
    return no('no homography found');
  } finally {
    a.delete(); b.delete(); mask.delete(); m?.delete();
  }
  const thr2 = o.homographyThreshold ** 2;
  const idx: number[] = [];
  const quadrant = [0, 0, 0, 0];
  let ssH = 0;
  for (let i = 0; i < n; i++) {
    const [u, v] = applyPoint3(H, from[2 * i], from[2 * i + 1]);
    const r2 = (u - to[2 * i]) ** 2 + (v - to[2 * i + 1]) ** 2;
    if (!(r2 < thr2)) continue;
    idx.push(i);
    ssH += r2;
    quadrant[(from[2 * i] < (w - 1) / 2 ? 0 : 1) + (from[2 * i + 1] < (h - 1) / 2 ? 0 : 2)]++;
  }
  if (idx.length < need) return no('too few inliers', idx.length);
  if (quadrant.some((q) => q < rule.minPerQuadrant)) return no('inliers not spread over the frame', idx.length);
  const corners = [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]];
  const depthOk = corners.every(([x, y]) => {
    const d = depthAt(H, x, y);
    return d > 1 / rule.maxDepthRatio && d < rule.maxDepthRatio;
  });
  // singular values of the 2x2 linear part
  const [p, q, r, s] = [H[0], H[1], H[3], H[4]];
  const e = (p + s) / 2, f = (p - s) / 2, g = (r + q) / 2, k = (r - q) / 2;
  const sv1 = Math.hypot(e, k) + Math.hypot(f, g), sv2 = Math.abs(Math.hypot(e, k) - Math.hypot(f, g));
  if (!depthOk || !(sv1 < rule.maxScale && sv2 > 1 / rule.maxScale)) return no('ill-conditioned', idx.length);
  const S = fitSimilarityLS(from, to, idx);
  if (!S) return no('ill-conditioned', idx.length);
  let ssS = 0;
  for (const i of idx) ssS += (S[0] * from[2 * i] + S[1] * from[2 * i + 1] + S[2] - to[2 * i]) ** 2 + (S[3] * from[2 * i] + S[4] * from[2 * i + 1] + S[5] - to[2 * i + 1]) ** 2;
  const rmsH = Math.sqrt(ssH / idx.length), rmsS = Math.sqrt(ssS / idx.length);
  const diag = Math.hypot(w, h);
  const shift = Math.max(...corners.map(([x, y]) => {
    const [u, v] = applyPoint3(H, x, y);
    return Math.hypot(u - (S[0] * x + S[1] * y + S[2]), v - (S[3] * x + S[4] * y + S[5]));
  }));
  if (shift > rule.maxCornerShift * diag) return no('extreme perspective', idx.length, rmsH, rmsS);
  if (o.motionModel === 'auto' && !(rmsH <= rule.maxErrorRatio * rmsS && rmsS - rmsH >= rule.minErrorGain)) return no('no clear gain', idx.length, rmsH, rmsS);
  return { matrix: H, fitted, inlierIdx: idx, reason: 'homography', inliers: idx.length, rmsHomography: rmsH, rmsSimilarity: rmsS };
}

/**
 * Camera motion between two gray frames: matrix maps prev pixel coords to next
 * pixel coords. `mask` (same size, non-zero = person) excludes points on prev;
 * `maskNext` (optional) additionally drops tracks that land on the person in next.
 */
export async function estimateMotion(
  prev: GrayFrame,
  next: GrayFrame,
  opts: MotionOptions & { mask?: GrayFrame; maskNext?: GrayFrame } = {},
): Promise<MotionEstimate> {
  const cv = await loadOpenCV();
  const o = resolveMotionOptions(opts);
  let a: PreparedFrame | undefined;
  let b: PreparedFrame | undefined;
  try {
    a = prepareFrame(cv, prev, opts.mask, o);
    b = prepareFrame(cv, next, opts.maskNext, o);
    return estimatePrepared(cv, a, b, o);
  } finally {
    releasePrepared(a);
    releasePrepared(b);
  }
}

/**
 * Streaming motion analysis: push one gray frame at a time (with its person
 * mask, if any); keeps only the previous frame's Mats (and the carried tracks),
 * so memory does not grow with the video. With keyframeInterval K > 1, corners
 * are detected on frames 0, K, 2K, ... (and whenever too few tracks are left);
 * the pairs in between track the previous pair's inliers on. The result for a
 * pair therefore depends only on the frames since the last keyframe, which is
 * what lets analyzeMotionParallel cut the video into blocks of K pairs and
 * still return exactly this. Call dispose() when done (also safe after errors).
 */
export class MotionAnalyzer {
  private prev: PreparedFrame | undefined;
  private pushed = 0;
  /** Video index of the next pushed frame. */
  private frameIndex = 0;
  private readonly track: TrackCarry = {};
  private constructor(private readonly cv: CV, readonly options: ResolvedOptions) {}

  /** `cv`: an already loaded OpenCV namespace (the workers load theirs their own way); default loadOpenCV(). */
  static async create(opts: MotionOptions = {}, cv?: CV): Promise<MotionAnalyzer> {
    const o = resolveMotionOptions(opts);
    return new MotionAnalyzer(cv ?? (await loadOpenCV()), o);
  }

  /** Motion from the previously pushed frame to this one (identity, no fallback, for the first frame). */
  push(gray: GrayFrame, mask?: GrayFrame): MotionEstimate {
    const cur = prepareFrame(this.cv, gray, mask, this.options);
    const prev = this.prev;
    this.prev = cur;
    this.pushed++;
    const prevIndex = this.frameIndex - 1;
    this.frameIndex++;
    if (!prev) {
      this.track.carry = undefined;
      return { matrix: identity(), model: this.options.model, corners: 0, tracked: 0, inliers: 0, rmsError: 0 };
    }
    try {
      const keyframe = prevIndex % this.options.keyframeInterval === 0;
      this.track.start = keyframe ? undefined : this.track.carry;
      this.track.startAnchor = keyframe ? undefined : this.track.carryAnchor;
      this.track.startFit = keyframe ? undefined : this.track.carryFit;
      this.track.startFitH = keyframe ? undefined : this.track.carryFitH;
      this.track.startAge = keyframe ? undefined : this.track.carryAge;
      return estimatePrepared(this.cv, prev, cur, this.options, this.track);
    } finally {
      this.track.start = undefined;
      this.track.startAnchor = undefined;
      this.track.startFit = undefined;
      this.track.startFitH = undefined;
      this.track.startAge = undefined;
      releasePrepared(prev);
    }
  }

  /**
   * Forget the previous frame and treat the next pushed frame as frame `index`
   * of the video (analyzeMotionParallel's workers start their blocks with it).
   */
  seek(index: number): void {
    if (!(Number.isInteger(index) && index >= 0)) throw new ReshootError(`seek index must be a whole number >= 0, got ${index}`);
    releasePrepared(this.prev);
    this.prev = undefined;
    this.track.carry = undefined;
    this.frameIndex = index;
  }

  /** Frames pushed so far. */
  get count(): number {
    return this.pushed;
  }

  dispose(): void {
    releasePrepared(this.prev);
    this.prev = undefined;
    this.track.carry = undefined;
  }
}

export interface AnalyzeOptions extends MotionOptions {
  /** Person mask of frame `index` (non-zero = excluded), or undefined. */
  maskFor?: (index: number) => GrayFrame | undefined | Promise<GrayFrame | undefined>;
  onProgress?: ProgressFn;
  /** Total frame count for onProgress, when known. */
  total?: number;
}

/**
 * Per-frame motions for a stream of gray frames; result[0] is identity, result[t]
 * maps frame t-1 to frame t. The options go over VIDEO_MOTION_DEFAULTS.
 */
export async function analyzeMotion(
  frames: AsyncIterable<GrayFrame> | Iterable<GrayFrame>,
  opts: AnalyzeOptions = {},
): Promise<MotionEstimate[]> {
  const { maskFor: _m, onProgress: _p, total: _t, ...motionOpts } = opts;
  const analyzer = await MotionAnalyzer.create(videoMotionOptions(motionOpts));
  const out: MotionEstimate[] = [];
  try {
    let i = 0;
    for await (const g of frames as AsyncIterable<GrayFrame>) {
      const mask = opts.maskFor ? await opts.maskFor(i) : undefined;
      const m = analyzer.push(g, mask);
      delete m.tracks;
      out.push(m);
      i++;
      opts.onProgress?.(i, opts.total);
    }
  } finally {
    analyzer.dispose();
  }
  return out;
}

// RGB -> gray has one definition, src/flow/gray.ts (byte-identical to OpenCV's RGB2GRAY, synchronous);
// re-exported under the names the stabilizer's callers use.
export { rgbToGray as toGray, rgbToGray as toGraySync } from '../flow/gray.js';
