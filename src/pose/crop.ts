/**
 * Square regions of a frame resampled to a model's square input, and the exact
 * mapping of model-normalised coordinates back to original pixels.
 *
 * Coordinate conventions (used by every keypoint reshoot writes):
 * - Pixel (i, j) has its CENTRE at x = i, y = j (OpenCV convention), so it
 *   covers the continuous interval [i - 0.5, i + 0.5).
 * - A region `{x, y, size}` is a square in continuous "edge" coordinates: it
 *   covers [x, x + size) where the frame covers [0, width). It may reach past
 *   the frame; what lies outside the frame is black (zero padding).
 * - Model outputs are normalised to the square input, 0 = its left/top edge,
 *   1 = its right/bottom edge.
 */
import type { Frame } from '../video/types.js';

/** Square region of a frame in continuous edge coordinates (see the file comment). */
export interface SquareRegion {
  x: number;
  y: number;
  size: number;
}

/**
 * The whole frame, letterboxed: a square of side max(width, height) centred on
 * the frame, so the padding (black) is split evenly on both sides of the short axis.
 */
export function letterboxRegion(width: number, height: number): SquareRegion {
  const size = Math.max(width, height);
  return { x: (width - size) / 2, y: (height - size) / 2, size };
}

/**
 * Maps a model-normalised point (xn, yn in 0..1 of the square input) to
 * original-frame pixel coordinates (pixel centres at integers):
 * x = region.x + xn * region.size - 0.5 (and likewise y).
 */
export function regionToFrame(region: SquareRegion, xn: number, yn: number): { x: number; y: number } {
  return { x: region.x + xn * region.size - 0.5, y: region.y + yn * region.size - 0.5 };
}

/** The inverse of regionToFrame: frame pixel coordinates to normalised 0..1 of the region. */
export function frameToRegion(region: SquareRegion, x: number, y: number): { xn: number; yn: number } {
  return { xn: (x + 0.5 - region.x) / region.size, yn: (y + 0.5 - region.y) / region.size };
}

/**
 * Resamples `region` of an RGB frame to n x n RGB (bilinear, like TensorFlow's
 * crop-and-resize). Output pixel (i, j) takes the frame at the continuous point
 * region.x + (i + 0.5) * size / n, i.e. pixel coordinate that minus 0.5. Points
 * outside the frame are black; inside it, samples clamp to the border pixels.
 */
export function resampleRegion(frame: Frame, region: SquareRegion, n: number, out = new Uint8Array(n * n * 3)): Uint8Array {
  const { width: w, height: h, data } = frame;
  if (data.length !== w * h * 3) throw new Error(`resampleRegion: frame data has ${data.length} bytes, expected ${w * h * 3} (RGB)`);
  const step = region.size / n;
  // Per-column source positions, computed once.
  const x0s = new Int32Array(n);
  const x1s = new Int32Array(n);
  const fxs = new Float32Array(n);
  const inX = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = region.x + (i + 0.5) * step;
    inX[i] = u >= 0 && u < w ? 1 : 0;
    const sx = Math.min(Math.max(u - 0.5, 0), w - 1);
    const x0 = Math.floor(sx);
    x0s[i] = x0 * 3;
    x1s[i] = Math.min(x0 + 1, w - 1) * 3;
    fxs[i] = sx - x0;
  }
  let o = 0;
  for (let j = 0; j < n; j++) {
    const v = region.y + (j + 0.5) * step;
    if (!(v >= 0 && v < h)) {
      out.fill(0, o, o + n * 3);
      o += n * 3;
      continue;
    }
    const sy = Math.min(Math.max(v - 0.5, 0), h - 1);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, h - 1);
    const fy = sy - y0;
    const r0 = y0 * w * 3;
    const r1 = y1 * w * 3;
    for (let i = 0; i < n; i++) {
      if (!inX[i]) {
        out[o] = out[o + 1] = out[o + 2] = 0;
        o += 3;
        continue;
      }
      const a = r0 + x0s[i];
      const b = r0 + x1s[i];
      const c = r1 + x0s[i];
      const d = r1 + x1s[i];
      const fx = fxs[i];
      // Unrolled over the 3 channels; values are >= 0, so (v + 0.5) | 0 rounds like Math.round.
      let top = data[a] + (data[b] - data[a]) * fx;
      let bot = data[c] + (data[d] - data[c]) * fx;
      out[o] = (top + (bot - top) * fy + 0.5) | 0;
      top = data[a + 1] + (data[b + 1] - data[a + 1]) * fx;
      bot = data[c + 1] + (data[d + 1] - data[c + 1]) * fx;
      out[o + 1] = (top + (bot - top) * fy + 0.5) | 0;
      top = data[a + 2] + (data[b + 2] - data[a + 2]) * fx;
      bot = data[c + 2] + (data[d + 2] - data[c + 2]) * fx;
      out[o + 2] = (top + (bot - top) * fy + 0.5) | 0;
      o += 3;
    }
  }
  return out;
}

/**
 * Square region centred on a box given in pixel coordinates (like keypoints),
 * side = max(w, h) * (1 + 2 * margin); the +0.5 converts the centre to edge coordinates.
 */
export function squareAround(box: { x: number; y: number; width: number; height: number }, margin: number): SquareRegion {
  const side = Math.max(box.width, box.height) * (1 + 2 * margin);
  const cx = box.x + box.width / 2 + 0.5;
  const cy = box.y + box.height / 2 + 0.5;
  return { x: cx - side / 2, y: cy - side / 2, size: side };
}
