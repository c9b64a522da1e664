/**
 * Optical flow with OpenCV (WebAssembly): dense Farneback flow and backward
 * warping by a flow field. (Sparse tracks: tracks.ts, the one tracker.)
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
