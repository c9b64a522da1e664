/**
 * The sparse feature tracker: Shi-Tomasi corners, pyramidal Lucas-Kanade
 * forward and (optionally) backward with a round-trip check. One tracker for
 * the codebase: camera-motion estimation (src/stabilize/motion.ts) runs the
 * Mat-level functions below on its prepared frames, `sparseTracks` is the same
 * thing on GrayFrames for notebooks and benchmarks.
 */
import type { Mat } from '@techstark/opencv-js';
import { loadOpenCV, type CV } from '../cv/opencv.js';
import type { GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

export interface TrackerOptions {
  /** Shi-Tomasi: most corners kept (default 300). */
  maxCorners?: number;
  /** Shi-Tomasi quality level relative to the best corner (default 0.01). */
  quality?: number;
  /** Shi-Tomasi minimum distance between corners, px (default 8). */
  minDistance?: number;
  /** LK window side, px (default 21). */
  winSize?: number;
  /** LK pyramid levels above the base (default 3). */
  maxLevel?: number;
  /**
   * Forward-backward round-trip error limit, px (default 0.7: measured on the
   * stabilization benchmark, where it keeps sub-pixel-consistent tracks only).
   */
  fbThreshold?: number;
}

export const TRACKER_DEFAULTS: Readonly<Required<TrackerOptions>> = Object.freeze({
  maxCorners: 300,
  quality: 0.01,
  minDistance: 8,
  winSize: 21,
  maxLevel: 3,
  fbThreshold: 0.7,
});

/** Shi-Tomasi corners of `gray` (CV_32FC2, n x 1), only where `allowed` is non-zero when given. Caller deletes. */
export function detectCorners(cv: CV, gray: Mat, o: Required<TrackerOptions>, allowed?: Mat): Mat {
  const corners = new cv.Mat();
  const none = new cv.Mat();
  try {
    cv.goodFeaturesToTrack(gray, corners, Math.round(o.maxCorners), o.quality, o.minDistance, allowed ?? none, 3, false, 0.04);
    return corners;
  } catch (e) {
    corners.delete();
    throw e;
  } finally {
    none.delete();
  }
}

export interface LkResult {
  /** Start points (x, y pairs) and their forward LK positions in next. */
  from: Float32Array;
  to: Float32Array;
  /** Round-trip distance per point, px (NaN when LK lost it either way; 0 when the backward pass was skipped). */
  fbError: Float32Array;
  /** 1 when LK found the point both ways, fbError <= fbThreshold and `to` lies inside next. */
  ok: Uint8Array;
}

/** Tracks `points` (CV_32FC2) from prev to next; `roundTrip` false skips the backward pass (tracks judged by LK status only). */
export function lkTrack(cv: CV, prev: Mat, next: Mat, points: Mat, o: Required<TrackerOptions>, roundTrip = true): LkResult {
  const n = points.rows;
  const fwd = new cv.Mat(), back = new cv.Mat(), st1 = new cv.Mat(), st2 = new cv.Mat(), err1 = new cv.Mat(), err2 = new cv.Mat();
  try {
    const from = new Float32Array((points.data32F as Float32Array).subarray(0, 2 * n));
    const fbError = new Float32Array(n);
    const ok = new Uint8Array(n);
    if (n === 0) return { from, to: new Float32Array(0), fbError, ok };
    const win = new cv.Size(o.winSize, o.winSize);
    const crit = new cv.TermCriteria(cv.TermCriteria_COUNT + cv.TermCriteria_EPS, 30, 0.01);
    cv.calcOpticalFlowPyrLK(prev, next, points, fwd, st1, err1, win, o.maxLevel, crit);
    if (roundTrip) cv.calcOpticalFlowPyrLK(next, prev, fwd, back, st2, err2, win, o.maxLevel, crit);
    const to = new Float32Array((fwd.data32F as Float32Array).subarray(0, 2 * n));
    const pb = roundTrip ? (back.data32F as Float32Array) : from;
    const s1 = st1.data as Uint8Array;
    const s2 = roundTrip ? (st2.data as Uint8Array) : s1;
    const w = next.cols, h = next.rows;
    const fb2 = o.fbThreshold * o.fbThreshold;
    for (let i = 0; i < n; i++) {
      if (!s1[i] || !s2[i]) {
        fbError[i] = NaN;
        continue;
      }
      const dx = pb[2 * i] - from[2 * i], dy = pb[2 * i + 1] - from[2 * i + 1];
      const d2 = dx * dx + dy * dy;
      fbError[i] = Math.sqrt(d2);
      const x1 = to[2 * i], y1 = to[2 * i + 1];
      ok[i] = d2 <= fb2 && x1 >= 0 && y1 >= 0 && x1 <= w - 1 && y1 <= h - 1 ? 1 : 0;
    }
    return { from, to, fbError, ok };
  } finally {
    fwd.delete(); back.delete(); st1.delete(); st2.delete(); err1.delete(); err2.delete();
  }
}

/** Options merged over TRACKER_DEFAULTS and checked (positive numbers; maxLevel >= 0). */
export function resolveTrackerOptions(opts: TrackerOptions = {}, label = 'tracker'): Required<TrackerOptions> {
  const given = Object.fromEntries(Object.entries(opts).filter(([k, v]) => v !== undefined && k in TRACKER_DEFAULTS));
  const o = { ...TRACKER_DEFAULTS, ...given } as Required<TrackerOptions>;
  for (const k of Object.keys(TRACKER_DEFAULTS) as (keyof TrackerOptions)[]) {
    const v = o[k];
    if (!(typeof v === 'number' && Number.isFinite(v) && (k === 'maxLevel' ? v >= 0 : v > 0))) {
      throw new ReshootError(`${label} option ${k} must be a ${k === 'maxLevel' ? 'non-negative' : 'positive'} number, got ${String(v)}`);
    }
  }
  return o;
}

/** One sparse track: corner (x0, y0) in prev, its LK position (x1, y1) in next. */
export interface TrackPoint {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  /** Distance between (x0, y0) and the point tracked back from (x1, y1) into prev, px; NaN when LK lost the point either way. */
  fbError: number;
  /** LK found the point both ways, fbError <= fbThreshold and (x1, y1) lies inside next. */
  ok: boolean;
}

export interface SparseTracks {
  /** Every detected corner, kept or rejected (see `ok`). */
  points: TrackPoint[];
}

function grayMat(cv: CV, g: GrayFrame, what: string): Mat {
  if (!(g.width > 0 && g.height > 0) || g.data.length !== g.width * g.height) {
    throw new ReshootError(`${what} must be a gray frame (1 byte per pixel): ${g.width}x${g.height} with ${g.data.length} bytes`);
  }
  const m = new cv.Mat(g.height, g.width, cv.CV_8UC1);
  (m.data as Uint8Array).set(g.data);
  return m;
}

/**
 * Sparse tracks prev -> next on GrayFrames: Shi-Tomasi corners on prev,
 * pyramidal LK forward and back; a track is `ok` when both directions
 * succeed, the round trip lands within fbThreshold px of the start and the
 * end point is inside next. Rejected tracks are returned too (ok = false).
 */
export async function sparseTracks(prev: GrayFrame, next: GrayFrame, opts?: TrackerOptions): Promise<SparseTracks> {
  const cv = await loadOpenCV();
  const o = resolveTrackerOptions(opts, 'sparseTracks');
  if (prev.width !== next.width || prev.height !== next.height) {
    throw new ReshootError(`sparseTracks: sizes differ (${prev.width}x${prev.height} vs ${next.width}x${next.height})`);
  }
  const a = grayMat(cv, prev, 'prev');
  let b: Mat | undefined;
  let corners: Mat | undefined;
  try {
    b = grayMat(cv, next, 'next');
    corners = detectCorners(cv, a, o);
    const r = lkTrack(cv, a, b, corners, o, true);
    const points: TrackPoint[] = [];
    for (let i = 0; i < r.ok.length; i++) {
      points.push({ x0: r.from[2 * i], y0: r.from[2 * i + 1], x1: r.to[2 * i], y1: r.to[2 * i + 1], fbError: r.fbError[i], ok: r.ok[i] === 1 });
    }
    return { points };
  } finally {
    a.delete();
    b?.delete();
    corners?.delete();
  }
}
