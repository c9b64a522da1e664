/**
 * Applying a lock correction to pixels: the person layer (mask) or the whole
 * frame is warped with OpenCV's warpAffine (bilinear) and composited.
 *
 * With a mask, only a region of interest is warped: the mask's bounding box
 * (found on a coarse grid), grown by the correction's displacement and a
 * margin, which is what keeps a 720p frame cheap. Composite:
 *   out = a' * warp(frame) + (1 - a') * frame,   a' = warp(mask) / 255.
 * Where the person moved away from, the background plate shows when one is
 * given (`reshoot plate`); without one the original frame shows through there
 * (a thin ghost of the old outline, as wide as the correction).
 */
import type { CV } from '../cv/opencv.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';
import type { Mat2x3 } from './lock.js';

/** Largest displacement of m over a rectangle's corners, px. */
function displacement(m: Mat2x3, x0: number, y0: number, x1: number, y1: number): number {
  let d = 0;
  for (const [x, y] of [[x0, y0], [x1, y0], [x0, y1], [x1, y1]]) {
    d = Math.max(d, Math.hypot(m[0] * x + m[1] * y + m[2] - x, m[3] * x + m[4] * y + m[5] - y));
  }
  return d;
}

/**
 * Mask values at or below this are background: a mask that went through a
 * lossy video codec is rarely exactly 0 away from the person.
 */
export const MASK_FLOOR = 8;

/** Bounding box of mask pixels > MASK_FLOOR (sampled every `step` px, then grown by step), or null when empty. */
export function maskBox(mask: GrayFrame, step = 4): { x0: number; y0: number; x1: number; y1: number } | null {
  const { width: w, height: h, data } = mask;
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y += step) {
    const row = y * w;
    for (let x = 0; x < w; x += step) {
      if (data[row + x] > MASK_FLOOR) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
    }
  }
  if (x1 < 0) return null;
  return { x0: Math.max(0, x0 - step), y0: Math.max(0, y0 - step), x1: Math.min(w - 1, x1 + step), y1: Math.min(h - 1, y1 + step) };
}

/** Below this displacement (px) a frame is passed through unwarped. */
export const IDENTITY_EPSILON = 0.01;

/**
 * The frame with its person layer moved by m (source px -> output px).
 * No mask: the whole frame moves (edges replicated). With a mask (same size,
 * one channel, 0-255), only the masked person moves and is composited back.
 */
export function lockFrameSync(cv: CV, frame: Frame, m: Mat2x3, mask?: GrayFrame, plate?: Frame): Frame {
  const { width: W, height: H } = frame;
  if (frame.data.length !== W * H * 3) throw new ReshootError(`frame data has ${frame.data.length} bytes, expected ${W}x${H}x3`);
  if (mask && (mask.width !== W || mask.height !== H || mask.data.length !== W * H)) {
    throw new ReshootError(`mask is ${mask.width}x${mask.height} but the frame is ${W}x${H}`);
  }
  if (plate && (plate.width !== W || plate.height !== H || plate.data.length !== W * H * 3)) {
    throw new ReshootError(`plate is ${plate.width}x${plate.height} but the frame is ${W}x${H}`);
  }
  if (displacement(m, 0, 0, W - 1, H - 1) < IDENTITY_EPSILON) return { width: W, height: H, data: frame.data.slice() };
  if (!mask) {
    const src = new cv.Mat(H, W, cv.CV_8UC3);
    const dst = new cv.Mat();
    const M = cv.matFromArray(2, 3, cv.CV_64FC1, m);
    try {
      (src.data as Uint8Array).set(frame.data);
      cv.warpAffine(src, dst, M, new cv.Size(W, H), cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar(0, 0, 0, 0));
      return { width: W, height: H, data: new Uint8Array(dst.data as Uint8Array) };
    } finally {
      src.delete();
      dst.delete();
      M.delete();
    }
  }
  const out = frame.data.slice();
  const box = maskBox(mask);
  if (!box) return { width: W, height: H, data: out };
  // Destination region: the mask box moved by m, plus a margin; source region: the mask box plus a margin.
  const grow = Math.ceil(displacement(m, box.x0, box.y0, box.x1, box.y1)) + 2;
  const dx0 = Math.max(0, box.x0 - grow), dy0 = Math.max(0, box.y0 - grow);
  const dx1 = Math.min(W - 1, box.x1 + grow), dy1 = Math.min(H - 1, box.y1 + grow);
  const sx0 = Math.max(0, box.x0 - 2), sy0 = Math.max(0, box.y0 - 2);
  const sx1 = Math.min(W - 1, box.x1 + 2), sy1 = Math.min(H - 1, box.y1 + 2);
  const sw = sx1 - sx0 + 1, sh = sy1 - sy0 + 1, dw = dx1 - dx0 + 1, dh = dy1 - dy0 + 1;
  // Source crop as 4 channels (RGB + mask) so one warp moves colour and alpha together.
  const src = new cv.Mat(sh, sw, cv.CV_8UC4);
  const dst = new cv.Mat();
  // In crop coordinates: x_d = m(x_s + s0) - d0.
  const M = cv.matFromArray(2, 3, cv.CV_64FC1, [
    m[0], m[1], m[0] * sx0 + m[1] * sy0 + m[2] - dx0,
    m[3], m[4], m[3] * sx0 + m[4] * sy0 + m[5] - dy0,
  ]);
  try {
    const s = src.data as Uint8Array;
    for (let y = 0; y < sh; y++) {
      let fi = ((sy0 + y) * W + sx0) * 3, mi = (sy0 + y) * W + sx0, o = y * sw * 4;
      for (let x = 0; x < sw; x++, fi += 3, mi++, o += 4) {
        s[o] = frame.data[fi];
        s[o + 1] = frame.data[fi + 1];
        s[o + 2] = frame.data[fi + 2];
        const a = mask.data[mi];
        s[o + 3] = a > MASK_FLOOR ? a : 0;
      }
    }
    cv.warpAffine(src, dst, M, new cv.Size(dw, dh), cv.INTER_LINEAR, cv.BORDER_CONSTANT, new cv.Scalar(0, 0, 0, 0));
    const d = dst.data as Uint8Array;
    const md = mask.data;
    for (let y = 0; y < dh; y++) {
      let o = ((dy0 + y) * W + dx0) * 3, i = y * dw * 4, mi = (dy0 + y) * W + dx0;
      for (let x = 0; x < dw; x++, o += 3, i += 4, mi++) {
        // Under the person's old place, the plate (when there is one) instead of the old person.
        const m0 = plate && md[mi] > MASK_FLOOR ? md[mi] : 0;
        if (m0 > 0) {
          const k = 255 - m0;
          out[o] = (m0 * plate!.data[o] + k * out[o] + 127) / 255;
          out[o + 1] = (m0 * plate!.data[o + 1] + k * out[o + 1] + 127) / 255;
          out[o + 2] = (m0 * plate!.data[o + 2] + k * out[o + 2] + 127) / 255;
        }
        const a = d[i + 3];
        if (a === 0) continue;
        // Straight alpha: colour and alpha were warped together (bilinear).
        const b = 255 - a;
        out[o] = (a * d[i] + b * out[o] + 127) / 255;
        out[o + 1] = (a * d[i + 1] + b * out[o + 1] + 127) / 255;
        out[o + 2] = (a * d[i + 2] + b * out[o + 2] + 127) / 255;
      }
    }
    return { width: W, height: H, data: out };
  } finally {
    src.delete();
    dst.delete();
    M.delete();
  }
}
