/**
 * Every person in a frame as a box, in one model call: NanoDet (the COCO-80
 * detector in the npm model package, EfficientNet-Lite backbone, 416 px input,
 * GFL head), class "person" only.
 *
 * The PeopleTracker finds people with the single-pose model itself (sweeps of
 * 7+ MoveNet calls); a detector answers "where is everyone" in one call, which
 * is what the stabilizer's mask and subject selection need (boxes, not
 * keypoints). Measurements and the comparison: README.md "Person detector".
 *
 * Decoding follows NanoDet's GFL head (nanodet/model/head/gfl_head.py): cell
 * centres at ((col + 0.5) s, (row + 0.5) s) for strides s = 8, 16, 32; each box
 * side is the expected value of a softmax over 11 bins, times s; class scores
 * are sigmoids already applied in the graph; then greedy NMS (IoU 0.6, as
 * NanoDet's test config).
 */
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadModel, type LoadedModel } from '../models/index.js';
import type { Frame } from '../video/types.js';
import { boxIoU } from './people.js';
import type { Box } from './types.js';

/** A detected person: the box in frame pixels (edge coordinates: the frame spans 0..width) and the detector's score. */
export interface PersonBox extends Box {
  score: number;
}

export interface DetectOptions {
  /** Lowest person score kept. Default 0.35. */
  minScore?: number;
  /** Boxes overlapping a better one by more than this IoU are dropped. Default 0.6 (NanoDet's test config). */
  nmsIoU?: number;
}

export const DETECTOR_INPUT = 416;
const STRIDES = [8, 16, 32] as const;
const BINS = 11;
const CLASSES = 80;

/**
 * The frame letterboxed into the 416 x 416 input: scaled by 416 / max(W, H), placed at the top-left, the rest
 * mid-gray; BGR, (v - 127) / 128, NCHW (NanoDet's EfficientNet-Lite normalisation; measured on vtest.avi it
 * gives higher person scores than RGB / 255). Returns the tensor data and the scale.
 */
export async function detectorInput(frame: Frame): Promise<{ data: Float32Array; scale: number }> {
  const S = DETECTOR_INPUT;
  const scale = S / Math.max(frame.width, frame.height);
  const w = Math.max(1, Math.min(S, Math.round(frame.width * scale)));
  const h = Math.max(1, Math.min(S, Math.round(frame.height * scale)));
  const img = await sharp(Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength), { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(w, h, { fit: 'fill' })
    .raw()
    .toBuffer();
  const data = new Float32Array(3 * S * S); // 0 = mid-gray after normalisation
  const plane = S * S;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      const o = y * S + x;
      data[o] = (img[i + 2] - 127) / 128; // B
      data[plane + o] = (img[i + 1] - 127) / 128; // G
      data[2 * plane + o] = (img[i] - 127) / 128; // R
    }
  }
  return { data, scale };
}

/** Decodes the six head outputs into person boxes in input (416) pixels, before NMS. */
export function decodePersons(outputs: Record<string, { data: Float32Array }>, minScore: number): PersonBox[] {
  const boxes: PersonBox[] = [];
  const dist = new Float64Array(BINS);
  for (const s of STRIDES) {
    const g = DETECTOR_INPUT / s;
    const cls = outputs[`cls${s}`].data;
    const reg = outputs[`reg${s}`].data;
    for (let k = 0; k < g * g; k++) {
      const score = cls[k * CLASSES]; // class 0 = person
      if (!(score >= minScore)) continue;
      const cx = ((k % g) + 0.5) * s;
      const cy = (Math.floor(k / g) + 0.5) * s;
      const side = [0, 0, 0, 0];
      for (let e = 0; e < 4; e++) {
        const base = k * 4 * BINS + e * BINS;
        let max = -Infinity;
        for (let b = 0; b < BINS; b++) max = Math.max(max, reg[base + b]);
        let sum = 0;
        for (let b = 0; b < BINS; b++) sum += dist[b] = Math.exp(reg[base + b] - max);
        let mean = 0;
        for (let b = 0; b < BINS; b++) mean += (b * dist[b]) / sum;
        side[e] = mean * s;
      }
      const x0 = Math.max(0, cx - side[0]), y0 = Math.max(0, cy - side[1]);
      const x1 = Math.min(DETECTOR_INPUT, cx + side[2]), y1 = Math.min(DETECTOR_INPUT, cy + side[3]);
      if (x1 > x0 && y1 > y0) boxes.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0, score });
    }
  }
  return boxes;
}

/** Greedy non-maximum suppression: best score first, dropping boxes that overlap a kept one by more than `maxIoU`. */
export function nonMaxSuppression<T extends PersonBox>(boxes: T[], maxIoU: number): T[] {
  const kept: T[] = [];
  for (const b of [...boxes].sort((p, q) => q.score - p.score)) if (kept.every((k) => boxIoU(k, b) <= maxIoU)) kept.push(b);
  return kept;
}

/** NanoDet person detection on whole frames. */
export class PersonDetector {
  private constructor(private readonly model: LoadedModel) {}

  static async create(opts: { threads?: number; spinning?: boolean } = {}): Promise<PersonDetector> {
    return new PersonDetector(await loadModel('nanodet', { provider: 'cpu', threads: opts.threads, spinning: opts.spinning ?? false }));
  }

  /** Every person in the frame, best score first, boxes in frame pixels. */
  async detect(frame: Frame, opts: DetectOptions = {}): Promise<PersonBox[]> {
    const { data, scale } = await detectorInput(frame);
    const S = DETECTOR_INPUT;
    const out = await this.model.session.run({ [this.model.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, S, S]) });
    const raw = decodePersons(out as unknown as Record<string, { data: Float32Array }>, opts.minScore ?? 0.35);
    return nonMaxSuppression(raw, opts.nmsIoU ?? 0.6).map((b) => ({ x: b.x / scale, y: b.y / scale, width: b.width / scale, height: b.height / scale, score: b.score }));
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}
