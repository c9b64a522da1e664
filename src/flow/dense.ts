/**
 * Dense optical flow, in one place: Farneback flow (OpenCV WebAssembly),
 * resizing for flow at a reduced size, the forward-backward occlusion check
 * of Lai et al. 2018 (as written in ../shared/docs/metrics.md), and backward
 * warping by a flow (gray or RGB, flow at the image size or smaller).
 *
 * Convention (OpenCV's and Middlebury's): x right, y down; a flow vector
 * (dx, dy) at pixel (x, y) of prev means prev(x, y) ~ next(x + dx, y + dy).
 * So warpByFlow(next, denseFlow(prev, next)) ~ prev.
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

/** Flow size for a frame size and a scale in (0, 1]: at least 16 px a side. */
export function flowSize(width: number, height: number, scale: number): { width: number; height: number } {
  if (!(scale > 0 && scale <= 1)) throw new ReshootError(`flow scale must be in (0, 1], got ${scale}`);
  return { width: Math.max(16, Math.min(width, Math.round(width * scale))), height: Math.max(16, Math.min(height, Math.round(height * scale))) };
}

/** Area-averaged resize of a gray image (cv.resize INTER_AREA); returns the input when the size already matches. */
export async function resizeGray(img: GrayFrame, width: number, height: number): Promise<GrayFrame> {
  if (img.width === width && img.height === height) return img;
  const cv = await loadOpenCV();
  const src = grayMat(cv, img, 'resizeGray image');
  const dst = new cv.Mat();
  try {
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, cv.INTER_AREA);
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Bilinear resize of a flow field to width x height, with vectors scaled by the size ratio (so they stay in pixels of the new size). */
export async function resizeFlow(flow: FlowField, width: number, height: number): Promise<FlowField> {
  checkFlow(flow);
  if (flow.width === width && flow.height === height) return flow;
  const cv = await loadOpenCV();
  const src = new cv.Mat(flow.height, flow.width, cv.CV_32FC2);
  const dst = new cv.Mat();
  try {
    (src.data32F as Float32Array).set(flow.data);
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, cv.INTER_LINEAR);
    const d = new Float32Array(dst.data32F as Float32Array);
    const sx = width / flow.width, sy = height / flow.height;
    for (let i = 0; i < d.length; i += 2) {
      d[i] *= sx;
      d[i + 1] *= sy;
    }
    return { width, height, data: d };
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Options of the occlusion check; the thresholds are Lai et al.'s constants from metrics.md. */
export interface OcclusionOptions {
  /** Also mark pixels whose forward flow leaves the frame as occluded (they have no counterpart). Default true. */
  outOfFrame?: boolean;
}

/**
 * Non-occlusion mask M in the grid of frame t (1 = reliable, 0 = occluded),
 * from forward flow wf (t -> t+1) and backward flow wb (t+1 -> t), both at the
 * same size. A pixel is occluded when
 *   |wf + wb(x + wf)|^2 > 0.01 (|wf|^2 + |wb(x + wf)|^2) + 0.5   (forward-backward disagreement)
 * or it lies on a motion boundary
 *   |grad w|^2 > 0.01 |w|^2 + 0.002,
 * where w is the flow anchored in frame t's grid (wf) and grad uses forward
 * differences (zero in the last row/column), as in Lai et al.'s reference
 * code (whose detect_occlusion is called with the flows swapped, so the
 * argument it names bw_flow is this wf; metrics.md calls it w_b).
 * wb(x + wf) is sampled bilinearly, border replicated.
 */
export function nonOcclusionMask(wf: FlowField, wb: FlowField, opts: OcclusionOptions = {}): Uint8Array {
  checkFlow(wf);
  checkFlow(wb);
  if (wf.width !== wb.width || wf.height !== wb.height) throw new ReshootError('occlusion check: forward and backward flows differ in size');
  const w = wf.width, h = wf.height;
  const outOfFrame = opts.outOfFrame ?? true;
  const F = wf.data, B = wb.data;
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const u = F[2 * i], v = F[2 * i + 1];
      const px = x + u, py = y + v;
      if (outOfFrame && (px < 0 || py < 0 || px > w - 1 || py > h - 1)) continue;
      // Bilinear sample of wb at (px, py), clamped to the frame.
      const cx = Math.min(Math.max(px, 0), w - 1), cy = Math.min(Math.max(py, 0), h - 1);
      const x0 = Math.min(Math.floor(cx), w - 2 < 0 ? 0 : w - 2), y0 = Math.min(Math.floor(cy), h - 2 < 0 ? 0 : h - 2);
      const x1 = Math.min(x0 + 1, w - 1), y1 = Math.min(y0 + 1, h - 1);
      const ax = cx - x0, ay = cy - y0;
      const i00 = 2 * (y0 * w + x0), i01 = 2 * (y0 * w + x1), i10 = 2 * (y1 * w + x0), i11 = 2 * (y1 * w + x1);
      const bu = (1 - ay) * ((1 - ax) * B[i00] + ax * B[i01]) + ay * ((1 - ax) * B[i10] + ax * B[i11]);
      const bv = (1 - ay) * ((1 - ax) * B[i00 + 1] + ax * B[i01 + 1]) + ay * ((1 - ax) * B[i10 + 1] + ax * B[i11 + 1]);
      const su = u + bu, sv = v + bv;
      const magF = u * u + v * v;
      if (su * su + sv * sv > 0.01 * (magF + bu * bu + bv * bv) + 0.5) continue;
      let grad = 0;
      if (x < w - 1) {
        const du = u - F[2 * (i + 1)], dv = v - F[2 * (i + 1) + 1];
        grad += du * du + dv * dv;
      }
      if (y < h - 1) {
        const du = u - F[2 * (i + w)], dv = v - F[2 * (i + w) + 1];
        grad += du * du + dv * dv;
      }
      if (grad > 0.01 * magF + 0.002) continue;
      mask[i] = 1;
    }
  }
  return mask;
}

const grids = new Map<string, Mat>();

/** A cached CV_32FC2 mat holding (x, y) at every pixel (never freed: one per frame size in use, small next to a video). */
function pixelGrid(cv: CV, width: number, height: number): Mat {
  const key = `${width}x${height}`;
  let g = grids.get(key);
  if (!g) {
    g = new cv.Mat(height, width, cv.CV_32FC2);
    const m = g.data32F as Float32Array;
    for (let y = 0, i = 0; y < height; y++) {
      for (let x = 0; x < width; x++, i += 2) {
        m[i] = x;
        m[i + 1] = y;
      }
    }
    grids.set(key, g);
  }
  return g;
}

/** Options of warpByFlow. */
export interface WarpOptions {
  /** Resampling: 'linear' (bilinear, the default) or 'cubic' (bicubic: less blur when warps are chained frame after frame). */
  interpolation?: 'linear' | 'cubic';
}

/**
 * Backward warp: out(x, y) = image(x + dx(x, y), y + dy(x, y)), bilinear,
 * border replicate (cv.remap). With flow = denseFlow(prev, next),
 * warpByFlow(next, flow) reconstructs prev. Gray in, gray out; RGB in, RGB
 * out. The flow may be smaller than the image (same aspect, within 5 %): it
 * is then upsampled bilinearly and its vectors scaled, inside OpenCV (no
 * per-pixel JavaScript), so flow computed at a reduced size warps full frames.
 */
export async function warpByFlow<T extends GrayFrame | Frame>(image: T, flow: FlowField, opts: WarpOptions = {}): Promise<T> {
  checkFlow(flow);
  const channels = channelsOf(image, 'warpByFlow image');
  const { width: w, height: h } = image;
  const resized = flow.width !== w || flow.height !== h;
  if (resized && Math.abs(flow.width / flow.height - w / h) > 0.05 * (w / h)) {
    throw new ReshootError(`warpByFlow: image ${w}x${h} and flow ${flow.width}x${flow.height} differ in aspect`);
  }
  const cv = await loadOpenCV();
  const mats: Mat[] = [];
  const mk = (m: Mat): Mat => {
    mats.push(m);
    return m;
  };
  try {
    const src = mk(new cv.Mat(h, w, channels === 1 ? cv.CV_8UC1 : cv.CV_8UC3));
    (src.data as Uint8Array).set(image.data);
    const small = mk(new cv.Mat(flow.height, flow.width, cv.CV_32FC2));
    (small.data32F as Float32Array).set(flow.data);
    let full = small;
    if (resized) {
      const up = mk(new cv.Mat());
      cv.resize(small, up, new cv.Size(w, h), 0, 0, cv.INTER_LINEAR);
      // Per-component scale of the vectors: multiply by a constant 2-channel mat.
      const k = mk(new cv.Mat(h, w, cv.CV_32FC2, new cv.Scalar(w / flow.width, h / flow.height)));
      full = mk(new cv.Mat());
      cv.multiply(up, k, full);
    }
    const map = mk(new cv.Mat());
    cv.add(pixelGrid(cv, w, h), full, map);
    const none = mk(new cv.Mat());
    const dst = mk(new cv.Mat());
    const interp = opts.interpolation ?? 'linear';
    if (interp !== 'linear' && interp !== 'cubic') throw new ReshootError(`warpByFlow interpolation must be 'linear' or 'cubic', got '${String(interp)}'`);
    cv.remap(src, dst, map, none, interp === 'cubic' ? cv.INTER_CUBIC : cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar());
    return { ...image, width: w, height: h, data: new Uint8Array(dst.data as Uint8Array) } as T;
  } finally {
    for (const m of mats) m.delete();
  }
}
