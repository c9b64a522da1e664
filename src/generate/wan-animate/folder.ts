/**
 * Writes a Wan2.2-Animate replace-mode folder (src_ref.png, src_pose.mp4, src_face.mp4,
 * src_bg.mp4, src_mask.mp4) from frames pushed one at a time, so a whole video never
 * sits in memory: four encoders run side by side, each fed through a small queue.
 * Per frame, as wan/modules/animate/preprocess/process_pipepline.py does it (replace branch):
 * resize by area with padding -> pose drawn in OpenPose colours on black -> face box x1.3 ->
 * 512x512 crop -> mask dilated (7x7, 3 iterations) and filled to its bounding box -> background = frame x (1 - mask).
 */
import { join } from 'node:path';
import type { CV } from '../../cv/opencv.js';
import type { PoseFrame } from '../../pose/types.js';
import { ensureDir } from '../../util/atomic.js';
import { encodeFrames, type Frame, type GrayFrame, type Rational } from '../../video/index.js';
import { writePng } from '../images.js';
import {
  cocoToOpenPose,
  faceLandmarkBoxFromCoco,
  OPENPOSE_COLORS,
  OPENPOSE_LIMB_SHADE,
  OPENPOSE_LIMBS,
  OPENPOSE_THRESHOLD,
  openposeStickWidth,
  WAN_FACE_SCALE,
  WAN_FACE_SIZE,
  WAN_MASK_ITERATIONS,
  WAN_MASK_KERNEL,
  wanFaceBox,
  type Letterbox,
  type OpenPosePoint,
} from './conventions.js';

/** The five files of a replace-mode folder (names read by wan/animate.py prepare_source / prepare_source_for_replace). */
export const WAN_FILES = { ref: 'src_ref.png', pose: 'src_pose.mp4', face: 'src_face.mp4', bg: 'src_bg.mp4', mask: 'src_mask.mp4' } as const;

/** Near-lossless: the model should see what reshoot computed, not codec noise (masks stay 0/255 within a few levels). */
const WAN_CRF = 8;

/** Resize into the letterbox (INTER_AREA when shrinking, else INTER_LINEAR, as resize_by_area picks) and pad black. */
export function letterboxImage<F extends Frame | GrayFrame>(cv: CV, f: F, lb: Letterbox, nearest = false): F {
  const ch = f.data.length / (f.width * f.height);
  const type = ch === 3 ? cv.CV_8UC3 : cv.CV_8UC1;
  const src = cv.matFromArray(f.height, f.width, type, f.data as unknown as number[]);
  const small = new cv.Mat();
  try {
    const shrink = lb.innerWidth * lb.innerHeight < f.width * f.height;
    cv.resize(src, small, new cv.Size(lb.innerWidth, lb.innerHeight), 0, 0, nearest ? cv.INTER_NEAREST : shrink ? cv.INTER_AREA : cv.INTER_LINEAR);
    const out = new Uint8Array(lb.width * lb.height * ch);
    const s = small.data as Uint8Array;
    const row = lb.innerWidth * ch;
    for (let y = 0; y < lb.innerHeight; y++) out.set(s.subarray(y * row, (y + 1) * row), ((y + lb.y) * lb.width + lb.x) * ch);
    return { width: lb.width, height: lb.height, data: out } as F;
  } finally {
    src.delete();
    small.delete();
  }
}

/** The inverse of letterboxImage for a frame the model returned (any size with the same aspect): crop the inner rect, resize to w x h. */
export function unletterboxImage(cv: CV, f: Frame, lb: Letterbox, width: number, height: number): Frame {
  const sx = f.width / lb.width;
  const sy = f.height / lb.height;
  const x = Math.round(lb.x * sx);
  const y = Math.round(lb.y * sy);
  const w = Math.max(1, Math.min(f.width - x, Math.round(lb.innerWidth * sx)));
  const h = Math.max(1, Math.min(f.height - y, Math.round(lb.innerHeight * sy)));
  const src = cv.matFromArray(f.height, f.width, cv.CV_8UC3, f.data as unknown as number[]);
  const roi = src.roi(new cv.Rect(x, y, w, h));
  const dst = new cv.Mat();
  try {
    cv.resize(roi, dst, new cv.Size(width, height), 0, 0, width * height < w * h ? cv.INTER_AREA : cv.INTER_LINEAR);
    return { width, height, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    roi.delete();
    src.delete();
    dst.delete();
  }
}

/** Keypoints from source pixels into the letterboxed frame. */
export function letterboxPoints(points: OpenPosePoint[], srcWidth: number, srcHeight: number, lb: Letterbox): OpenPosePoint[] {
  const sx = lb.innerWidth / srcWidth;
  const sy = lb.innerHeight / srcHeight;
  return points.map((p) => (p.p > 0 ? { x: p.x * sx + lb.x, y: p.y * sy + lb.y, p: p.p } : p));
}

/**
 * Draws Wan's pose image (draw_aapose_new in human_visualization.py): on black, each limb whose
 * two points reach the threshold as a filled ellipse (ellipse2Poly with half-length and stick width,
 * angle in whole degrees, delta 1) in 0.6 x its colour, then each point as a disc of its own colour.
 */
export function drawOpenPose(cv: CV, points: OpenPosePoint[], width: number, height: number): Frame {
  const img = cv.Mat.zeros(height, width, cv.CV_8UC3);
  const stick = openposeStickWidth(width, height);
  try {
    OPENPOSE_LIMBS.forEach(([a, b], i) => {
      const p1 = points[a];
      const p2 = points[b];
      if (p1.p < OPENPOSE_THRESHOLD || p2.p < OPENPOSE_THRESHOLD) return;
      const mx = (p1.x + p2.x) / 2;
      const my = (p1.y + p2.y) / 2;
      const length = Math.hypot(p1.x - p2.x, p1.y - p2.y);
      // Wan swaps the names (X holds y) and takes atan2(dy, dx) in degrees, truncated by int().
      const angle = Math.trunc((Math.atan2(p1.y - p2.y, p1.x - p2.x) * 180) / Math.PI);
      const pv = new cv.PointVector();
      try {
        cv.ellipse2Poly(new cv.Point(Math.trunc(mx), Math.trunc(my)), new cv.Size(Math.trunc(length / 2), stick), angle, 0, 360, 1, pv);
        const flat: number[] = [];
        for (let j = 0; j < pv.size(); j++) flat.push(pv.get(j).x, pv.get(j).y);
        const pts = cv.matFromArray(pv.size(), 1, cv.CV_32SC2, flat);
        const c = OPENPOSE_COLORS[i].map((v) => Math.trunc(v * OPENPOSE_LIMB_SHADE));
        cv.fillConvexPoly(img, pts, new cv.Scalar(c[0], c[1], c[2], 255));
        pts.delete();
      } finally {
        pv.delete();
      }
    });
    points.forEach((p, i) => {
      if (p.p < OPENPOSE_THRESHOLD || i >= OPENPOSE_COLORS.length) return;
      const c = OPENPOSE_COLORS[i];
      cv.circle(img, new cv.Point(Math.trunc(p.x), Math.trunc(p.y)), stick, new cv.Scalar(c[0], c[1], c[2], 255), -1);
    });
    return { width, height, data: new Uint8Array(img.data as Uint8Array) };
  } finally {
    img.delete();
  }
}

/**
 * Wan's replace mask from a person alpha (letterboxed): binary at 128, dilated with a 7x7 box
 * 3 times (get_mask_body_img), then `get_aug_mask(w_len=1, h_len=1)` (utils.py): one tile spanning
 * the bounding box [x_min, x_max) x [y_min, y_max) is set to 1 when it holds any mask pixel. 255 = person.
 */
export function wanMask(cv: CV, alpha: GrayFrame): GrayFrame {
  const { width, height } = alpha;
  const bin = new Uint8Array(width * height);
  for (let i = 0; i < bin.length; i++) bin[i] = alpha.data[i] >= 128 ? 1 : 0;
  const src = cv.matFromArray(height, width, cv.CV_8UC1, bin as unknown as number[]);
  const dst = new cv.Mat();
  const kernel = cv.Mat.ones(WAN_MASK_KERNEL, WAN_MASK_KERNEL, cv.CV_8U);
  let d: Uint8Array;
  try {
    cv.dilate(src, dst, kernel, new cv.Point(-1, -1), WAN_MASK_ITERATIONS, cv.BORDER_CONSTANT, cv.morphologyDefaultBorderValue());
    d = new Uint8Array(dst.data as Uint8Array);
  } finally {
    src.delete();
    dst.delete();
    kernel.delete();
  }
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (!d[y * width + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (x1 > x0 && y1 > y0) for (let y = y0; y < y1; y++) d.fill(1, y * width + x0, y * width + x1);
  for (let i = 0; i < d.length; i++) d[i] = d[i] ? 255 : 0;
  return { width, height, data: d };
}

/** `frame * (1 - mask)`: the person blacked out. */
export function wanBackground(frame: Frame, mask: GrayFrame): Frame {
  const out = new Uint8Array(frame.data);
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = 0;
  return { width: frame.width, height: frame.height, data: out };
}

/** The 512x512 face crop (cv2.resize of frame[y1:y2, x1:x2], INTER_LINEAR; aspect not kept, as in Wan). */
export function wanFaceCrop(cv: CV, frame: Frame, box: [number, number, number, number]): Frame {
  const [x1, x2, y1, y2] = box;
  const src = cv.matFromArray(frame.height, frame.width, cv.CV_8UC3, frame.data as unknown as number[]);
  const roi = src.roi(new cv.Rect(x1, y1, Math.max(1, x2 - x1), Math.max(1, y2 - y1)));
  const dst = new cv.Mat();
  try {
    cv.resize(roi, dst, new cv.Size(WAN_FACE_SIZE, WAN_FACE_SIZE), 0, 0, cv.INTER_LINEAR);
    return { width: WAN_FACE_SIZE, height: WAN_FACE_SIZE, data: new Uint8Array(dst.data as Uint8Array) };
  } finally {
    roi.delete();
    src.delete();
    dst.delete();
  }
}

/** A bounded queue that an encoder pulls from: push() waits while `limit` frames are pending. */
class FrameQueue implements AsyncIterable<Frame> {
  private items: Frame[] = [];
  private ended = false;
  private wakeReader: (() => void) | null = null;
  private wakeWriter: (() => void) | null = null;
  constructor(private readonly limit = 3) {}
  async push(f: Frame): Promise<void> {
    while (this.items.length >= this.limit) await new Promise<void>((r) => (this.wakeWriter = r));
    this.items.push(f);
    this.wakeReader?.();
    this.wakeReader = null;
  }
  end(): void {
    this.ended = true;
    this.wakeReader?.();
    this.wakeReader = null;
  }
  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    for (;;) {
      if (this.items.length) {
        const f = this.items.shift()!;
        this.wakeWriter?.();
        this.wakeWriter = null;
        yield f;
      } else if (this.ended) return;
      else await new Promise<void>((r) => (this.wakeReader = r));
    }
  }
}

export interface WanFolderOptions {
  dir: string;
  /** Size of the frames pushed (reshoot's canvas). */
  sourceWidth: number;
  sourceHeight: number;
  letterbox: Letterbox;
  fps: Rational;
}

/** Per-frame facts the manifest keeps (face box in Wan pixels; whether the frame had a person). */
export interface WanFrameRecord {
  face: [number, number, number, number];
  faceFrom: 'pose' | 'previous' | 'default';
  person: boolean;
}

/** Streams frames into the four videos; `close()` waits for the encoders. */
export class WanFolderWriter {
  private readonly queues = { pose: new FrameQueue(), face: new FrameQueue(), bg: new FrameQueue(), mask: new FrameQueue() };
  private readonly done: Promise<unknown>;
  private lastFace: [number, number, number, number] | null = null;
  readonly records: WanFrameRecord[] = [];
  private failed: unknown = null;

  constructor(
    private readonly cv: CV,
    private readonly o: WanFolderOptions,
  ) {
    const enc = (q: FrameQueue, name: string) =>
      encodeFrames(q, join(o.dir, name), { fps: o.fps, crf: WAN_CRF, preset: 'veryfast', overwrite: true }).catch((err) => {
        this.failed ??= err;
        // Unblock the producer: drain whatever it pushes from now on.
        void (async () => {
          for await (const _ of q) void _;
        })();
        throw err;
      });
    this.done = Promise.all([enc(this.queues.pose, WAN_FILES.pose), enc(this.queues.face, WAN_FILES.face), enc(this.queues.bg, WAN_FILES.bg), enc(this.queues.mask, WAN_FILES.mask)]);
    this.done.catch(() => undefined);
  }

  static async create(cv: CV, o: WanFolderOptions, reference: Frame): Promise<WanFolderWriter> {
    await ensureDir(o.dir);
    // src_ref.png: Wan pads it to the pose size itself (padding_resize in wan/animate.py prepare_source).
    await writePng(join(o.dir, WAN_FILES.ref), reference);
    return new WanFolderWriter(cv, o);
  }

  /** One exported frame: `frame` and `alpha` at the source size, `pose` in source pixels (COCO-17). */
  async push(frame: Frame, alpha: GrayFrame | null, pose: PoseFrame | null | undefined): Promise<void> {
    if (this.failed) throw this.failed;
    const { cv, o } = this;
    const lb = o.letterbox;
    const f = letterboxImage(cv, frame, lb);
    const points = letterboxPoints(cocoToOpenPose(pose), o.sourceWidth, o.sourceHeight, lb);
    const poseImg = drawOpenPose(cv, points, lb.width, lb.height);
    const a = alpha ? letterboxImage(cv, alpha, lb) : null;
    const mask = a ? wanMask(cv, a) : { width: lb.width, height: lb.height, data: new Uint8Array(lb.width * lb.height) };
    const person = mask.data.some((v) => v > 0);
    const bg = wanBackground(f, mask);
    // Face box from the letterboxed head points; a frame without them reuses the last box (else a centred square).
    const scaledPose = pose?.found
      ? { ...pose, keypoints: pose.keypoints.map((k) => ({ ...k, x: (k.x * lb.innerWidth) / o.sourceWidth + lb.x, y: (k.y * lb.innerHeight) / o.sourceHeight + lb.y })) }
      : pose;
    const lm = faceLandmarkBoxFromCoco(scaledPose);
    let face: [number, number, number, number];
    let faceFrom: WanFrameRecord['faceFrom'];
    if (lm) {
      face = wanFaceBox(lm, WAN_FACE_SCALE, lb.width, lb.height);
      faceFrom = 'pose';
    } else if (this.lastFace) {
      face = this.lastFace;
      faceFrom = 'previous';
    } else {
      const s = Math.trunc(Math.min(lb.width, lb.height) / 4);
      const x = Math.trunc((lb.width - s) / 2);
      face = [x, x + s, 0, s];
      faceFrom = 'default';
    }
    if (face[1] - face[0] < 2 || face[3] - face[2] < 2) face = this.lastFace ?? [0, Math.min(2, lb.width), 0, Math.min(2, lb.height)];
    this.lastFace = face;
    this.records.push({ face, faceFrom, person });
    const mask3 = new Uint8Array(mask.data.length * 3);
    for (let i = 0; i < mask.data.length; i++) mask3[3 * i] = mask3[3 * i + 1] = mask3[3 * i + 2] = mask.data[i];
    await Promise.all([
      this.queues.pose.push(poseImg),
      this.queues.face.push(wanFaceCrop(cv, f, face)),
      this.queues.bg.push(bg),
      this.queues.mask.push({ width: lb.width, height: lb.height, data: mask3 }),
    ]);
  }

  async close(): Promise<void> {
    for (const q of Object.values(this.queues)) q.end();
    await this.done;
  }

  /** After a failure: ends the queues and waits for the encoders, ignoring their errors (the export then fails as a whole). */
  async abort(): Promise<void> {
    this.failed ??= new Error('aborted');
    for (const q of Object.values(this.queues)) q.end();
    await this.done.catch(() => undefined);
  }
}
