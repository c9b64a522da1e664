/**
 * The one RGB -> gray definition of the project: BT.601 luma,
 * Y = 0.299 R + 0.587 G + 0.114 B, computed exactly as OpenCV's
 * cv.cvtColor(COLOR_RGB2GRAY) does for 8-bit images (fixed point, weights
 * 9798/19235/3735 of 2^15, rounded; checked byte for byte in test/flow.test.ts), so JavaScript and OpenCV callers get the
 * same bytes. Plain JavaScript: no OpenCV round trip for a per-pixel sum.
 */
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** BT.601 luma weights (R, G, B). */
export const LUMA_WEIGHTS: readonly [number, number, number] = Object.freeze([0.299, 0.587, 0.114]) as readonly [number, number, number];

// OpenCV's fixed-point weights for 8-bit RGB2GRAY (gray_shift = 15): round(w * 2^15).
const R15 = 9798, G15 = 19235, B15 = 3735, SHIFT = 15, HALF = 1 << (SHIFT - 1);

function checkRgb(frame: Frame): number {
  const n = frame.width * frame.height;
  if (!(frame.width > 0 && frame.height > 0) || frame.data.length !== n * 3) {
    throw new ReshootError(`frame data has ${frame.data.length} bytes, expected ${frame.width}x${frame.height}x3 (RGB)`);
  }
  return n;
}

/** RGB24 -> 8-bit gray, byte-identical to cv.cvtColor(..., COLOR_RGB2GRAY). */
export function rgbToGray(frame: Frame): GrayFrame {
  const n = checkRgb(frame);
  const d = frame.data;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (R15 * d[j] + G15 * d[j + 1] + B15 * d[j + 2] + HALF) >> SHIFT;
  return { width: frame.width, height: frame.height, data: out };
}

/** RGB24 -> unrounded BT.601 luma (0..255 floats), for measures that should not see 8-bit rounding (SSIM). */
export function rgbToLuma(frame: Frame): Float32Array {
  const n = checkRgb(frame);
  const d = frame.data;
  const [wr, wg, wb] = LUMA_WEIGHTS;
  const out = new Float32Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = wr * d[j] + wg * d[j + 1] + wb * d[j + 2];
  return out;
}

/** Gray as is; RGB converted with rgbToGray. Anything else is a user error. */
export function asGray(img: Frame | GrayFrame): GrayFrame {
  const n = img.width * img.height;
  if (img.data.length === n) return img as GrayFrame;
  return rgbToGray(img as Frame);
}

/** Central-difference gradient magnitude of luma, levels/px (0 on the border). */
export function gradientMagnitude(f: Frame): Float32Array {
  const { width: w, height: h } = f;
  const L = rgbToLuma(f);
  const g = new Float32Array(w * h);
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1, i = y * w + 1; x < w - 1; x++, i++) {
      const gx = (L[i + 1] - L[i - 1]) / 2, gy = (L[i + w] - L[i - w]) / 2;
      g[i] = Math.sqrt(gx * gx + gy * gy);
    }
  }
  return g;
}
