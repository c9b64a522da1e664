/**
 * Mask compositing: the model's low-resolution probability map for a square
 * crop is pasted back into a frame-sized alpha (bilinear), then feathered.
 */
import { loadOpenCV } from '../cv/opencv.js';
import { squareAround, type SquareRegion } from '../pose/crop.js';
import type { PoseFrame } from '../pose/types.js';
import type { GrayFrame } from '../video/types.js';

/** Margin around the pose box on every side, as a fraction of its longer side. */
export const DEFAULT_MASK_MARGIN = 0.25;

/**
 * The square crop the mask model sees: the box of the valid keypoints with
 * `margin` (fraction of its longer side) on each side, so the head top, hands
 * and feet (beyond the keypoints) are inside. Null when the pose has no box.
 * A minimum side of 32 px keeps a one-point box from collapsing.
 */
export function maskRegionForPose(pose: PoseFrame | null, margin = DEFAULT_MASK_MARGIN): SquareRegion | null {
  if (!pose?.found || !pose.box) return null;
  const r = squareAround(pose.box, margin);
  if (r.size >= 32) return r;
  return { x: r.x + r.size / 2 - 16, y: r.y + r.size / 2 - 16, size: 32 };
}

/**
 * Pastes an m x m probability map (row-major, values 0..1) covering `region`
 * into a width x height alpha (0..255). Frame pixel (px, py) samples the map at
 * ((px + 0.5 - region.x) / region.size * m - 0.5, likewise y) in map pixel
 * coordinates (bilinear, clamped at the map border). Pixels outside the region are 0.
 */
export function pasteMask(probs: ArrayLike<number>, m: number, region: SquareRegion, width: number, height: number, out?: Uint8Array): GrayFrame {
  const data = out ?? new Uint8Array(width * height);
  data.fill(0);
  const x0 = Math.max(0, Math.ceil(region.x - 0.5));
  const x1 = Math.min(width - 1, Math.ceil(region.x + region.size - 0.5) - 1);
  const y0 = Math.max(0, Math.ceil(region.y - 0.5));
  const y1 = Math.min(height - 1, Math.ceil(region.y + region.size - 0.5) - 1);
  const scale = m / region.size;
  const nx = Math.max(0, x1 - x0 + 1);
  const mx0 = new Int32Array(nx);
  const mx1 = new Int32Array(nx);
  const fx = new Float32Array(nx);
  for (let i = 0; i < nx; i++) {
    const u = Math.min(Math.max((x0 + i + 0.5 - region.x) * scale - 0.5, 0), m - 1);
    mx0[i] = Math.floor(u);
    mx1[i] = Math.min(mx0[i] + 1, m - 1);
    fx[i] = u - mx0[i];
  }
  for (let py = y0; py <= y1; py++) {
    const v = Math.min(Math.max((py + 0.5 - region.y) * scale - 0.5, 0), m - 1);
    const r0 = Math.floor(v);
    const r1 = Math.min(r0 + 1, m - 1);
    const fy = v - r0;
    const a0 = r0 * m;
    const a1 = r1 * m;
    let o = py * width + x0;
    for (let i = 0; i < nx; i++, o++) {
      const top = probs[a0 + mx0[i]] + (probs[a0 + mx1[i]] - probs[a0 + mx0[i]]) * fx[i];
      const bot = probs[a1 + mx0[i]] + (probs[a1 + mx1[i]] - probs[a1 + mx0[i]]) * fx[i];
      const p = top + (bot - top) * fy;
      data[o] = p <= 0 ? 0 : p >= 1 ? 255 : Math.round(p * 255);
    }
  }
  return { width, height, data };
}

/**
 * Softens the mask edge with a Gaussian blur (OpenCV) of standard deviation
 * `sigma` pixels, only over the region's bounding rectangle plus 3 sigma (the
 * rest of the frame is 0 and stays 0): just that rectangle is copied into
 * OpenCV and back. sigma <= 0 returns the mask unchanged. `inPlace` writes into
 * `mask` instead of a copy (the masker does that with its own fresh buffer).
 */
export async function featherMask(mask: GrayFrame, sigma: number, region: SquareRegion | null, opts: { inPlace?: boolean } = {}): Promise<GrayFrame> {
  if (!(sigma > 0) || !region) return mask;
  const cv = await loadOpenCV();
  const pad = Math.ceil(3 * sigma) + 1;
  const x0 = Math.max(0, Math.floor(region.x) - pad);
  const y0 = Math.max(0, Math.floor(region.y) - pad);
  const x1 = Math.min(mask.width, Math.ceil(region.x + region.size) + pad);
  const y1 = Math.min(mask.height, Math.ceil(region.y + region.size) + pad);
  if (x1 <= x0 || y1 <= y0) return mask;
  const bw = x1 - x0;
  const bh = y1 - y0;
  const src = new cv.Mat(bh, bw, cv.CV_8UC1);
  const blurred = new cv.Mat();
  try {
    for (let y = 0; y < bh; y++) src.data.set(mask.data.subarray((y + y0) * mask.width + x0, (y + y0) * mask.width + x1), y * bw);
    const k = 2 * Math.ceil(3 * sigma) + 1;
    // Zero border outside the rectangle: the mask really is 0 there (pad >= 3 sigma beyond the crop).
    cv.GaussianBlur(src, blurred, new cv.Size(k, k), sigma, sigma, cv.BORDER_CONSTANT);
    const out = opts.inPlace ? mask.data : Uint8Array.from(mask.data);
    for (let y = 0; y < bh; y++) out.set(blurred.data.subarray(y * bw, (y + 1) * bw), (y + y0) * mask.width + x0);
    return { width: mask.width, height: mask.height, data: out };
  } finally {
    blurred.delete();
    src.delete();
  }
}

/** Fraction of pixels with alpha >= 128. */
export function maskCoverage(mask: GrayFrame): number {
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i] >= 128) n++;
  return n / mask.data.length;
}
