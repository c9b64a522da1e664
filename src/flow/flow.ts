/**
 * Sparse optical flow with OpenCV (WebAssembly): Shi-Tomasi + pyramidal
 * Lucas-Kanade tracks with a forward-backward check. Dense flow, warping and
 * gray conversion live in dense.ts and gray.ts.
 *
 * Convention (OpenCV's and Middlebury's): x right, y down; a flow vector
 * (dx, dy) at pixel (x, y) of prev means prev(x, y) ~ next(x + dx, y + dy).
 */
import type { Mat } from '@techstark/opencv-js';
import type { CV } from '../cv/opencv.js';
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** Options of sparseTracks. */
export interface SparseTrackOptions {
  /** Shi-Tomasi: most corners kept. Default 300. */
  maxCorners?: number;
  /** Shi-Tomasi quality level relative to the best corner. Default 0.01. */
  quality?: number;
  /** Minimum distance between corners, px. Default 8. */
  minDistance?: number;
  /** LK window side, px. Default 21. */
  winSize?: number;
  /** LK pyramid levels above the base. Default 3. */
  maxLevel?: number;
  /** Forward-backward round-trip error limit, px. Default 1.0. */
  fbThreshold?: number;
}

export const SPARSE_DEFAULTS: Readonly<Required<SparseTrackOptions>> = Object.freeze({
  maxCorners: 300,
  quality: 0.01,
  minDistance: 8,
  winSize: 21,
  maxLevel: 3,
  fbThreshold: 1.0,
});

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

function merge<T extends object>(defaults: Readonly<Required<T>>, opts: T | undefined): Required<T> {
  const given = Object.fromEntries(Object.entries(opts ?? {}).filter(([, v]) => v !== undefined));
  return { ...defaults, ...given } as Required<T>;
}

function channelsOf(img: Frame | GrayFrame, what: string): 1 | 3 {
  const n = img.width * img.height;
  if (!(img.width > 0 && img.height > 0)) throw new ReshootError(`${what} has size ${img.width}x${img.height}`);
  if (img.data.length === n) return 1;
  if (img.data.length === n * 3) return 3;
  throw new ReshootError(`${what} data has ${img.data.length} bytes, expected ${img.width}x${img.height} (gray) or x3 (RGB)`);
}

function grayMat(cv: CV, g: GrayFrame, what: string): Mat {
  if (channelsOf(g, what) !== 1) throw new ReshootError(`${what} must be a gray frame (1 byte per pixel)`);
  const m = new cv.Mat(g.height, g.width, cv.CV_8UC1);
  (m.data as Uint8Array).set(g.data);
  return m;
}

function sameSize(a: { width: number; height: number }, b: { width: number; height: number }, what: string): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new ReshootError(`${what}: sizes differ (${a.width}x${a.height} vs ${b.width}x${b.height})`);
  }
}

/**
 * Sparse tracks prev -> next: Shi-Tomasi corners on prev, pyramidal
 * Lucas-Kanade forward to next and back to prev; a track is `ok` when both
 * directions succeed and the round trip lands within fbThreshold px of the
 * start. Rejected tracks are returned too (ok = false).
 */
export async function sparseTracks(prev: GrayFrame, next: GrayFrame, opts?: SparseTrackOptions): Promise<SparseTracks> {
  const cv = await loadOpenCV();
  const o = merge(SPARSE_DEFAULTS, opts);
  for (const k of Object.keys(SPARSE_DEFAULTS) as (keyof SparseTrackOptions)[]) {
    const v = o[k];
    if (!(typeof v === 'number' && Number.isFinite(v) && (k === 'maxLevel' ? v >= 0 : v > 0))) {
      throw new ReshootError(`sparseTracks option ${k} must be a ${k === 'maxLevel' ? 'non-negative' : 'positive'} number, got ${String(v)}`);
    }
  }
  sameSize(prev, next, 'sparseTracks');
  const a = grayMat(cv, prev, 'prev');
  const mats: Mat[] = [a];
  const track = () => {
    const m = new cv.Mat();
    mats.push(m);
    return m;
  };
  try {
    const b = grayMat(cv, next, 'next');
    mats.push(b);
    const corners = track(), fwd = track(), back = track();
    const st1 = track(), st2 = track(), err1 = track(), err2 = track(), none = track();
    cv.goodFeaturesToTrack(a, corners, Math.round(o.maxCorners), o.quality, o.minDistance, none, 3, false, 0.04);
    const n = corners.rows;
    if (n === 0) return { points: [] };
    const win = new cv.Size(o.winSize, o.winSize);
    const crit = new cv.TermCriteria(cv.TermCriteria_COUNT + cv.TermCriteria_EPS, 30, 0.01);
    cv.calcOpticalFlowPyrLK(a, b, corners, fwd, st1, err1, win, o.maxLevel, crit);
    cv.calcOpticalFlowPyrLK(b, a, fwd, back, st2, err2, win, o.maxLevel, crit);
    const p0 = corners.data32F as Float32Array;
    const p1 = fwd.data32F as Float32Array;
    const pb = back.data32F as Float32Array;
    const s1 = st1.data as Uint8Array;
    const s2 = st2.data as Uint8Array;
    const w = next.width, h = next.height;
    const points: TrackPoint[] = [];
    for (let i = 0; i < n; i++) {
      const x0 = p0[2 * i], y0 = p0[2 * i + 1];
      const x1 = p1[2 * i], y1 = p1[2 * i + 1];
      const lost = !s1[i] || !s2[i];
      const fbError = lost ? NaN : Math.hypot(pb[2 * i] - x0, pb[2 * i + 1] - y0);
      const inside = x1 >= 0 && y1 >= 0 && x1 <= w - 1 && y1 <= h - 1;
      points.push({ x0, y0, x1, y1, fbError, ok: !lost && fbError <= o.fbThreshold && inside });
    }
    return { points };
  } finally {
    for (const m of mats) m.delete();
  }
}
