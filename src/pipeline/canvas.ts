/**
 * The pipeline's synchronous view of the stabilized canvas (src/stabilize's
 * canvas geometry and warpAt): warps that reuse one loaded OpenCV, and the
 * no-stabilization case (the canvas is the frame).
 */
import type { CV } from '../cv/opencv.js';
import { invert, translation, type Mat2x3 } from '../geometry/index.js';
import { warpAt, type CanvasGeometry, type TransformsData } from '../stabilize/index.js';
import type { Frame, GrayFrame } from '../video/types.js';

export { canvasGeometry, type CanvasGeometry } from '../stabilize/index.js';

/** Source px of frame t -> canvas px (translation only when there is no stabilization). */
export function canvasMatrix(t: TransformsData | null, frame: number, g: CanvasGeometry): Mat2x3 {
  return t ? warpAt(t, frame, g).matrix : translation(g.offsetX, g.offsetY);
}

export function warpTo<F extends Frame | GrayFrame>(cv: CV, f: F, m: Mat2x3, width: number, height: number): F {
  const channels = f.data.length / (f.width * f.height);
  const src = cv.matFromArray(f.height, f.width, channels === 3 ? cv.CV_8UC3 : cv.CV_8UC1, f.data as unknown as number[]);
  const dst = new cv.Mat();
  const M = cv.matFromArray(2, 3, cv.CV_64FC1, m);
  try {
    // Replicated pixels only land on canvas margins, which re-shake never samples.
    cv.warpAffine(src, dst, M, new cv.Size(width, height), cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar(0, 0, 0, 0));
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) } as F;
  } finally {
    src.delete();
    dst.delete();
    M.delete();
  }
}

export function toCanvas<F extends Frame | GrayFrame>(cv: CV, f: F, t: TransformsData | null, frame: number, g: CanvasGeometry): F {
  return warpTo(cv, f, canvasMatrix(t, frame, g), g.width, g.height);
}

export function fromCanvas<F extends Frame | GrayFrame>(cv: CV, f: F, t: TransformsData | null, frame: number, g: CanvasGeometry, width: number, height: number): F {
  return warpTo(cv, f, invert(canvasMatrix(t, frame, g)), width, height);
}
