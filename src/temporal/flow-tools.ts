/**
 * Flow helpers shared by the temporal stage and the flicker metrics: gray
 * conversion and resizing for flow at a reduced size, flow upsampling,
 * the forward-backward occlusion check of Lai et al. 2018 (as written in
 * ../shared/docs/metrics.md), and RGB warping by a flow.
 */
import type { Mat } from '@techstark/opencv-js';
import { loadOpenCV } from '../cv/opencv.js';
import type { FlowField } from '../flow/index.js';
import type { Frame, GrayFrame } from '../video/types.js';
import { ReshootError } from '../util/errors.js';

/** BT.601 luma (integer weights 77/150/29 of 256, as libjpeg): the gray image flow runs on. */
export function rgbToGray(frame: Frame): GrayFrame {
  const n = frame.width * frame.height;
  if (frame.data.length !== n * 3) throw new ReshootError(`frame data has ${frame.data.length} bytes, expected ${frame.width}x${frame.height}x3`);
  const out = new Uint8Array(n);
  const d = frame.data;
  for (let i = 0, j = 0; i < n; i++, j += 3) out[i] = (77 * d[j] + 150 * d[j + 1] + 29 * d[j + 2] + 128) >> 8;
  return { width: frame.width, height: frame.height, data: out };
}

/** Area-averaged resize of a gray image (cv.resize INTER_AREA); returns the input when the size already matches. */
export async function resizeGray(img: GrayFrame, width: number, height: number): Promise<GrayFrame> {
  if (img.width === width && img.height === height) return img;
  const cv = await loadOpenCV();
  const src = new cv.Mat(img.height, img.width, cv.CV_8UC1);
  const dst = new cv.Mat();
  try {
    (src.data as Uint8Array).set(img.data);
    cv.resize(src, dst, new cv.Size(width, height), 0, 0, cv.INTER_AREA);
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    src.delete();
    dst.delete();
  }
}

/** Bilinear resize of a flow field to width x height, with vectors scaled by the size ratio (so they stay in pixels of the new size). */
export async function resizeFlow(flow: FlowField, width: number, height: number): Promise<FlowField> {
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

/** Flow size for a frame size and a scale in (0, 1]: at least 16 px a side. */
export function flowSize(width: number, height: number, scale: number): { width: number; height: number } {
  if (!(scale > 0 && scale <= 1)) throw new ReshootError(`flow scale must be in (0, 1], got ${scale}`);
  return { width: Math.max(16, Math.min(width, Math.round(width * scale))), height: Math.max(16, Math.min(height, Math.round(height * scale))) };
}

/** Options of the occlusion check; the defaults are Lai et al.'s constants from metrics.md. */
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

/** A cached CV_32FC2 mat holding (x, y) at every pixel (freed never: one per frame size in use). */
async function pixelGrid(width: number, height: number): Promise<Mat> {
  const key = `${width}x${height}`;
  let g = grids.get(key);
  if (!g) {
    const cv = await loadOpenCV();
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

/**
 * Backward warp of an RGB frame: out(x) = image(x + flow(x)), bilinear,
 * border replicate (cv.remap). The flow may be smaller than the image (same
 * aspect): it is then upsampled bilinearly and its vectors scaled, inside
 * OpenCV (no per-pixel JavaScript), which is what the temporal stage uses.
 */
export async function warpRgb(image: Frame, flow: FlowField): Promise<Frame> {
  const { width: w, height: h } = image;
  if (image.data.length !== w * h * 3) throw new ReshootError(`warp: image data is not ${w}x${h} RGB`);
  if (flow.data.length !== flow.width * flow.height * 2) throw new ReshootError('warp: bad flow field');
  if (Math.abs(flow.width / flow.height - w / h) > 0.05 && (flow.width !== w || flow.height !== h)) {
    throw new ReshootError(`warp: image ${w}x${h} and flow ${flow.width}x${flow.height} differ in aspect`);
  }
  const cv = await loadOpenCV();
  const grid = await pixelGrid(w, h);
  const mats: Mat[] = [];
  const mk = (m: Mat): Mat => {
    mats.push(m);
    return m;
  };
  try {
    const src = mk(new cv.Mat(h, w, cv.CV_8UC3));
    (src.data as Uint8Array).set(image.data);
    const small = mk(new cv.Mat(flow.height, flow.width, cv.CV_32FC2));
    (small.data32F as Float32Array).set(flow.data);
    let full = small;
    if (flow.width !== w || flow.height !== h) {
      const up = mk(new cv.Mat());
      cv.resize(small, up, new cv.Size(w, h), 0, 0, cv.INTER_LINEAR);
      const scaled = mk(new cv.Mat());
      // Per-channel scale of the vectors: multiply by a constant 2-channel mat.
      const k = mk(new cv.Mat(h, w, cv.CV_32FC2, new cv.Scalar(w / flow.width, h / flow.height)));
      cv.multiply(up, k, scaled);
      full = scaled;
    }
    const map = mk(new cv.Mat());
    cv.add(grid, full, map);
    const none = mk(new cv.Mat());
    const dst = mk(new cv.Mat());
    cv.remap(src, dst, map, none, cv.INTER_LINEAR, cv.BORDER_REPLICATE, new cv.Scalar());
    return { width: w, height: h, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    for (const m of mats) m.delete();
  }
}
