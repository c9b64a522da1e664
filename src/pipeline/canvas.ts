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

/**
 * Frame t of the output under the input's camera, as the input plus the change the chain made:
 * input + fromCanvas(result - toCanvas(input)). Re-shaking the change rather than the image keeps
 * every pixel the chain left alone exactly the input's (two bilinear warps would blur them: a
 * passthrough lost 2-6 dB inside the subject), while a changed pixel still lands where it belongs.
 */
export function reshakeChange(cv: CV, input: Frame, result: Frame, t: TransformsData | null, frame: number, g: CanvasGeometry): Frame {
  const { width: W, height: H } = input;
  const m = canvasMatrix(t, frame, g);
  const mats: { delete(): void }[] = [];
  const keep = <T extends { delete(): void }>(x: T): T => (mats.push(x), x);
  try {
    const src = keep(cv.matFromArray(H, W, cv.CV_8UC3, input.data as unknown as number[]));
    const onCanvas = keep(new cv.Mat());
    const M = keep(cv.matFromArray(2, 3, cv.CV_64FC1, m));
    cv.warpAffine(src, onCanvas, M, new cv.Size(g.width, g.height), cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar(0, 0, 0, 0));
    const res = keep(cv.matFromArray(g.height, g.width, cv.CV_8UC3, result.data as unknown as number[]));
    const a = keep(new cv.Mat()), b = keep(new cv.Mat()), delta = keep(new cv.Mat());
    res.convertTo(a, cv.CV_32FC3);
    onCanvas.convertTo(b, cv.CV_32FC3);
    cv.subtract(a, b, delta);
    const back = keep(new cv.Mat());
    const Minv = keep(cv.matFromArray(2, 3, cv.CV_64FC1, invert(m)));
    cv.warpAffine(delta, back, Minv, new cv.Size(W, H), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar(0, 0, 0, 0));
    const inF = keep(new cv.Mat()), sum = keep(new cv.Mat()), out = keep(new cv.Mat());
    src.convertTo(inF, cv.CV_32FC3);
    cv.add(inF, back, sum);
    sum.convertTo(out, cv.CV_8UC3); // rounds and saturates
    return { width: W, height: H, data: new Uint8Array(out.data as Uint8Array) };
  } finally {
    for (const x of mats) x.delete();
  }
}
