/**
 * Optical flow with OpenCV (WebAssembly): dense Farneback flow, sparse
 * Shi-Tomasi + pyramidal Lucas-Kanade tracks with a forward-backward check,
 * and backward warping by a flow field.
 *
 * Convention (OpenCV's and Middlebury's): x right, y down; a flow vector
 * (dx, dy) at pixel (x, y) of prev means prev(x, y) ~ next(x + dx, y + dy).
 * So warpByFlow(next, flow) ~ prev.
 */
import type { Mat } from '@techstark/opencv-js';
import type { CV } from '../cv/opencv.js';
import { loadOpenCV } from '../cv/opencv.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import { checkFlow, type FlowField } from './color.js';

/** Parameters of cv.calcOpticalFlowFarneback. Defaults (0.5, 3, 15, 3, 5, 1.2, 0) are TecoGAN's tOF metric settings. */
export interface FarnebackOptions {
  /** Pyramid scale between levels (< 1). Default 0.5. */
  pyrScale?: number;
  /** Pyramid levels (including the base). Default 3. */
  levels?: number;
  /** Averaging window size, px. Default 15. */
  winSize?: number;
  /** Iterations per pyramid level. Default 3. */
  iterations?: number;
  /** Pixel neighbourhood for the polynomial expansion (5 or 7). Default 5. */
  polyN?: number;
  /** Gaussian sigma of the polynomial expansion (1.1 for polyN 5, 1.5 for 7 usual). Default 1.2. */
  polySigma?: number;
  /** OpenCV flags (cv.OPTFLOW_FARNEBACK_GAUSSIAN = 256). Default 0. */
  flags?: number;
}

export const FARNEBACK_DEFAULTS: Readonly<Required<FarnebackOptions>> = Object.freeze({
  pyrScale: 0.5,
  levels: 3,
  winSize: 15,
  iterations: 3,
  polyN: 5,
  polySigma: 1.2,
  flags: 0,
});

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
 * Dense optical flow prev -> next (cv.calcOpticalFlowFarneback). Returns
 * (dx, dy) per pixel with prev(x, y) ~ next(x + dx, y + dy). About 0.1 s at 640x480.
 */
export async function denseFlow(prev: GrayFrame, next: GrayFrame, opts?: FarnebackOptions): Promise<FlowField> {
  const cv = await loadOpenCV();
  const o = merge(FARNEBACK_DEFAULTS, opts);
  sameSize(prev, next, 'denseFlow');
  const a = grayMat(cv, prev, 'prev');
  let b: Mat | undefined;
  const flow = new cv.Mat();
  try {
    b = grayMat(cv, next, 'next');
    cv.calcOpticalFlowFarneback(a, b, flow, o.pyrScale, o.levels, o.winSize, o.iterations, o.polyN, o.polySigma, o.flags);
    if (flow.rows !== prev.height || flow.cols !== prev.width || flow.type() !== cv.CV_32FC2) {
      throw new Error(`calcOpticalFlowFarneback returned a ${flow.cols}x${flow.rows} mat of type ${flow.type()}`);
    }
    // Copy out of the WebAssembly heap before the Mat is freed.
    return { width: prev.width, height: prev.height, data: new Float32Array(flow.data32F as Float32Array) };
  } finally {
    a.delete();
    b?.delete();
    flow.delete();
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

/**
 * Backward warp: output(x, y) = image(x + dx(x, y), y + dy(x, y)), bilinear,
 * border replicate (cv.remap). With flow = denseFlow(prev, next),
 * warpByFlow(next, flow) reconstructs prev. Gray in, gray out; RGB in, RGB out.
 */
export async function warpByFlow<T extends GrayFrame | Frame>(image: T, flow: FlowField): Promise<T> {
  const cv = await loadOpenCV();
  checkFlow(flow);
  const channels = channelsOf(image, 'warpByFlow image');
  sameSize(image, flow, 'warpByFlow image and flow');
  const { width: w, height: h } = image;
  const src = new cv.Mat(h, w, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3);
  const map = new cv.Mat(h, w, cv.CV_32FC2);
  const none = new cv.Mat();
  const dst = new cv.Mat();
  try {
    (src.data as Uint8Array).set(image.data);
    const m = map.data32F as Float32Array;
    const f = flow.data;
    for (let y = 0, i = 0; y < h; y++) {
      for (let x = 0; x < w; x++, i += 2) {
        m[i] = x + f[i];
        m[i + 1] = y + f[i + 1];
      }
    }
    cv.remap(src, dst, map, none, cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar());
    const data = new Uint8Array(dst.data as Uint8Array);
    return { ...image, width: w, height: h, data } as T;
  } finally {
    src.delete();
    map.delete();
    none.delete();
    dst.delete();
  }
}
