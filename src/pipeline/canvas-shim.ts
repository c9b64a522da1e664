/**
 * TEMPORARY (lead): the canvas geometry the pipeline needs, until the stab
 * branch's one transforms API (src/stabilize: canvasGeometry, warpAt, ...) is
 * merged; then this file is deleted and the imports switch.
 */
import type { CV } from '../cv/opencv.js';
import { applyPoint, compose, invert, translation, type Mat2x3, type TransformsData } from '../stabilize/index.js';
import type { Frame, GrayFrame } from '../video/types.js';

export interface CanvasGeometry {
  mode: 'canvas';
  width: number;
  height: number;
  offsetX: number;
  offsetY: number;
  clipped: boolean;
}

export function canvasGeometry(t: TransformsData, opts: { maxMargin?: number } = {}): CanvasGeometry {
  const { width: W, height: H } = t.source;
  const maxMargin = opts.maxMargin ?? 0.25;
  let x0 = 0;
  let y0 = 0;
  let x1 = W - 1;
  let y1 = H - 1;
  for (const f of t.frames) {
    for (const [x, y] of [
      [-0.5, -0.5],
      [W - 0.5, -0.5],
      [-0.5, H - 0.5],
      [W - 0.5, H - 0.5],
    ]) {
      const [u, v] = applyPoint(f.correction, x, y);
      x0 = Math.min(x0, u);
      y0 = Math.min(y0, v);
      x1 = Math.max(x1, u);
      y1 = Math.max(y1, v);
    }
  }
  let left = Math.ceil(-x0);
  let top = Math.ceil(-y0);
  let right = Math.ceil(x1 - (W - 1));
  let bottom = Math.ceil(y1 - (H - 1));
  const mx = Math.ceil(maxMargin * W);
  const my = Math.ceil(maxMargin * H);
  const clipped = left > mx || right > mx || top > my || bottom > my;
  left = Math.min(left, mx);
  right = Math.min(right, mx);
  top = Math.min(top, my);
  bottom = Math.min(bottom, my);
  let width = W + left + right;
  let height = H + top + bottom;
  if (width % 2) width++;
  if (height % 2) height++;
  return { mode: 'canvas', width, height, offsetX: left, offsetY: top, clipped };
}

/** Source px of frame t -> canvas px. */
export function canvasMatrix(t: TransformsData | null, frame: number, g: CanvasGeometry): Mat2x3 {
  const c = t ? t.frames[frame].correction : [1, 0, 0, 0, 1, 0];
  return compose(translation(g.offsetX, g.offsetY), c);
}

export function mapPoint(t: TransformsData | null, frame: number, g: CanvasGeometry, x: number, y: number): [number, number] {
  return applyPoint(canvasMatrix(t, frame, g), x, y);
}

function warp<F extends Frame | GrayFrame>(cv: CV, f: F, m: Mat2x3, width: number, height: number): F {
  const channels = f.data.length / (f.width * f.height);
  const src = cv.matFromArray(f.height, f.width, channels === 3 ? cv.CV_8UC3 : cv.CV_8UC1, f.data as unknown as number[]);
  const dst = new cv.Mat();
  const M = cv.matFromArray(2, 3, cv.CV_64FC1, m);
  try {
    cv.warpAffine(src, dst, M, new cv.Size(width, height), cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar(0, 0, 0, 0));
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) } as F;
  } finally {
    src.delete();
    dst.delete();
    M.delete();
  }
}

export function toCanvas<F extends Frame | GrayFrame>(cv: CV, f: F, t: TransformsData | null, frame: number, g: CanvasGeometry): F {
  return warp(cv, f, canvasMatrix(t, frame, g), g.width, g.height);
}

export function fromCanvas<F extends Frame | GrayFrame>(cv: CV, f: F, t: TransformsData | null, frame: number, g: CanvasGeometry, width: number, height: number): F {
  return warp(cv, f, invert(canvasMatrix(t, frame, g)), width, height);
}
