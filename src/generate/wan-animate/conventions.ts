/**
 * Wan2.2-Animate's preprocessing conventions (replace mode), re-read from the
 * model's own source (Wan-Video/Wan2.2) and written here as pure functions so
 * the export, the `wan-animate:` generator and their tests share one copy.
 * Every constant names the file it comes from.
 */
import type { PoseFrame } from '../../pose/types.js';
import { ReshootError } from '../../util/errors.js';

/** Default target area: `resolution_area=[1280, 720]` (wan/modules/animate/preprocess/process_pipepline.py, ProcessPipeline.__call__). */
export const WAN_AREA = { width: 1280, height: 720 } as const;
/** `resize_by_area(..., divisor=16)` as process_pipepline.py calls it. */
export const WAN_DIVISOR = 16;
/** `fps=30` default of ProcessPipeline.__call__ (process_pipepline.py). */
export const WAN_FPS = 30;
/** `cv2.resize(face_image, (512, 512))` after `get_face_bboxes(..., scale=1.3)` (process_pipepline.py). */
export const WAN_FACE_SIZE = 512;
export const WAN_FACE_SCALE = 1.3;
/** `iterations=3, k=7` defaults of ProcessPipeline.__call__; `get_mask_body_img` dilates with an all-ones k x k kernel (utils.py). */
export const WAN_MASK_KERNEL = 7;
export const WAN_MASK_ITERATIONS = 3;
/** `clip_len=77` default of WanAnimate.generate (wan/animate.py); "should be 4n+1". */
export const WAN_CLIP_LEN = 77;
/** `assert refert_num == 1 or refert_num == 5` (wan/animate.py, WanAnimate.generate). */
export const WAN_REFERT_NUMS = [1, 5] as const;

/**
 * OpenPose-18 order plus two toes, the body layout Wan draws
 * (`new_kep_list` in wan/modules/animate/preprocess/human_visualization.py, draw_aapose_new).
 */
export const OPENPOSE_BODY = [
  'Nose', 'Neck', 'RShoulder', 'RElbow', 'RWrist', 'LShoulder', 'LElbow', 'LWrist',
  'RHip', 'RKnee', 'RAnkle', 'LHip', 'LKnee', 'LAnkle', 'REye', 'LEye', 'REar', 'LEar', 'LToe', 'RToe',
] as const;

/**
 * Limbs, 0-based (human_visualization.py `limbSeq` in draw_aapose_new is 1-based:
 * [2,3],[2,6],[3,4],[4,5],[6,7],[7,8],[2,9],[9,10],[10,11],[2,12],[12,13],[13,14],[2,1],[1,15],[15,17],[1,16],[16,18],[14,19],[11,20]).
 */
export const OPENPOSE_LIMBS: ReadonlyArray<readonly [number, number]> = [
  [1, 2], [1, 5], [2, 3], [3, 4], [5, 6], [6, 7], [1, 8], [8, 9], [9, 10], [1, 11], [11, 12], [12, 13],
  [1, 0], [0, 14], [14, 16], [0, 15], [15, 17], [13, 18], [10, 19],
];

/**
 * RGB colours (`colors` in draw_aapose_new, human_visualization.py): limb i is filled with
 * `int(c * 0.6)` of colour i; keypoint i is a disc of colour i (radius = stick width).
 */
export const OPENPOSE_COLORS: ReadonlyArray<readonly [number, number, number]> = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
  [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
  [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85], [200, 200, 0], [100, 100, 0],
];
/** Limb fill factor: `[int(float(c) * 0.6) for c in color]` (human_visualization.py). */
export const OPENPOSE_LIMB_SHADE = 0.6;
/** `threshold=0.5` of draw_aapose_by_meta_new: a keypoint below it is not drawn. */
export const OPENPOSE_THRESHOLD = 0.5;

/** `stickwidth = max(int(min(H, W) / 200) - 1, 1)` (draw_aapose_new, body_stick_width == -1). */
export function openposeStickWidth(width: number, height: number): number {
  return Math.max(Math.floor(Math.min(width, height) / 200) - 1, 1);
}

/** One OpenPose-20 keypoint in pixels with a confidence (0 = absent). */
export interface OpenPosePoint {
  x: number;
  y: number;
  p: number;
}

/**
 * reshoot's COCO-17 pose -> Wan's OpenPose-20 body layout.
 * Wan builds it from COCO-WholeBody (pose2d_utils.py AAPoseMeta.load_from_kp2ds: rows
 * [0,6,6,8,10,5,7,9,12,14,16,11,13,15,2,1,4,3,17,20] averaged with [0,5,6,8,10,5,7,9,12,14,16,11,13,15,2,1,4,3,18,21]):
 * every point is one COCO point except Neck = mid-point of the two shoulders (COCO 5 and 6) and
 * the toes (WholeBody 17-22), which COCO-17 lacks: they get p = 0 and are not drawn.
 * A point's confidence is its score when reshoot marked it valid, else 0; Neck needs both shoulders.
 */
export function cocoToOpenPose(pose: PoseFrame | null | undefined): OpenPosePoint[] {
  const none = (): OpenPosePoint => ({ x: 0, y: 0, p: 0 });
  if (!pose?.found) return OPENPOSE_BODY.map(none);
  const k = pose.keypoints;
  const at = (i: number): OpenPosePoint => (k[i]?.valid ? { x: k[i].x, y: k[i].y, p: k[i].score } : none());
  const ls = at(5);
  const rs = at(6);
  const neck = ls.p > 0 && rs.p > 0 ? { x: (ls.x + rs.x) / 2, y: (ls.y + rs.y) / 2, p: Math.min(ls.p, rs.p) } : none();
  // Order of OPENPOSE_BODY: COCO indices 0, neck, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3.
  return [at(0), neck, at(6), at(8), at(10), at(5), at(7), at(9), at(12), at(14), at(16), at(11), at(13), at(15), at(2), at(1), at(4), at(3), none(), none()];
}

/**
 * Output size for a `w` x `h` source: what `resize_by_area(frame, 1280*720, divisor=16)`
 * (wan/modules/animate/preprocess/utils.py) actually returns. Its search `calculate_new_size` calls
 * `check_valid(w, h, divisor)` on a two-argument function, so it always raises and the `except`
 * branch decides: h' = sqrt(area / aspect), w' = area / h', each floored to a multiple of 16.
 * The frame is then fitted inside with `padding_resize` (aspect kept, centred, black bars), see wanLetterbox.
 */
export function wanAnimateSize(w: number, h: number, area: number = WAN_AREA.width * WAN_AREA.height, divisor = WAN_DIVISOR): { width: number; height: number } {
  if (!(w > 0 && h > 0)) throw new ReshootError(`wan-animate size: bad source size ${w}x${h}`);
  const aspect = w / h;
  const nh = Math.sqrt(area / aspect);
  const nw = area / nh;
  const width = Math.floor(nw / divisor) * divisor;
  const height = Math.floor(nh / divisor) * divisor;
  if (width < divisor || height < divisor) throw new ReshootError(`wan-animate size: area ${area} is too small for ${w}x${h} (sides must be multiples of ${divisor})`);
  return { width, height };
}

/** Where `padding_resize(img, height, width)` (utils.py) puts a `w` x `h` image inside `W` x `H`: inner rect and scale. */
export interface Letterbox {
  width: number;
  height: number;
  /** Inner (image) rectangle inside the padded frame. */
  x: number;
  y: number;
  innerWidth: number;
  innerHeight: number;
}

export function wanLetterbox(w: number, h: number, W: number, H: number): Letterbox {
  // Same integer arithmetic as padding_resize: int() truncation of the new side and of the padding.
  if (h / w > H / W) {
    const nw = Math.trunc((H / h) * w);
    return { width: W, height: H, x: Math.trunc((W - nw) / 2), y: 0, innerWidth: nw, innerHeight: H };
  }
  const nh = Math.trunc((W / w) * h);
  return { width: W, height: H, x: 0, y: Math.trunc((H - nh) / 2), innerWidth: W, innerHeight: nh };
}

/** numpy's np.round: half to even (get_frame_indices uses it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Source frame of every exported frame: `target_num = int(frame_num / video_fps * fps)` and
 * `get_frame_indices` = clip(np.round(arange(target_num) / fps * video_fps), 0, frame_num - 1)
 * (process_pipepline.py and utils.py).
 */
export function wanFrameIndices(frameNum: number, videoFps: number, fps: number = WAN_FPS): number[] {
  const target = Math.trunc((frameNum / videoFps) * fps + 1e-9);
  const out: number[] = [];
  for (let k = 0; k < target; k++) out.push(Math.min(frameNum - 1, Math.max(0, roundHalfEven((k / fps) * videoFps))));
  return out;
}

/** The exported frame whose time is nearest input frame t's (finish maps the model's output back with it). */
export function exportedFrameFor(t: number, videoFps: number, fps: number, exportedCount: number): number {
  return Math.min(exportedCount - 1, Math.max(0, Math.round((t / videoFps) * fps)));
}

/** A clip of the generation plan: frames [start, end) of the (padded) sequence; the first `guide` come from the previous clip. */
export interface WanClip {
  index: number;
  start: number;
  end: number;
  guide: number;
}

export interface WanClipPlan {
  clipLen: number;
  refertNum: number;
  /** Frames exported. */
  realLength: number;
  /** `get_valid_len`: the length Wan pads the inputs to (ping-pong padding, `inputs_padding`). */
  targetLength: number;
  clips: WanClip[];
}

/**
 * Wan's clip loop (wan/animate.py WanAnimate.generate): target_len = get_valid_len(real, clip_len, overlap=refert_num),
 * clips [start, start + clip_len) with start advancing by clip_len - refert_num, stopping when
 * start + refert_num >= target_len; each clip after the first is guided by the previous clip's last refert_num frames.
 */
export function wanClipPlan(realLength: number, refertNum: number, clipLen: number = WAN_CLIP_LEN): WanClipPlan {
  if (!(WAN_REFERT_NUMS as readonly number[]).includes(refertNum)) throw new ReshootError(`--refert-num must be 1 or 5 (Wan2.2-Animate asserts it); got ${refertNum}`);
  if (!Number.isInteger(clipLen) || clipLen < 5 || (clipLen - 1) % 4 !== 0) throw new ReshootError(`--clip-len must be 4n+1 (e.g. 77, 81); got ${clipLen}`);
  if (clipLen <= refertNum) throw new ReshootError(`--clip-len ${clipLen} must be longer than --refert-num ${refertNum}`);
  if (!Number.isInteger(realLength) || realLength < 1) throw new ReshootError(`wan-animate clip plan: no frames to plan (got ${realLength})`);
  const step = clipLen - refertNum;
  const last = (realLength - refertNum) % step;
  const lastMod = ((last % step) + step) % step; // Python's % is never negative
  const targetLength = realLength + (lastMod === 0 ? 0 : step - lastMod);
  const clips: WanClip[] = [];
  for (let start = 0; start + refertNum < targetLength; start += step) {
    clips.push({ index: clips.length, start, end: start + clipLen, guide: start === 0 ? 0 : refertNum });
  }
  if (!clips.length) throw new ReshootError(`wan-animate clip plan: ${realLength} frame(s) is too short for --refert-num ${refertNum} (Wan generates no clip)`);
  return { clipLen, refertNum, realLength, targetLength, clips };
}

/**
 * Face box as `get_face_bboxes(kps, scale=1.3, image_shape)` (utils.py, the second definition, which
 * process_pipepline.py calls) expands a landmark box: area x scale at the same aspect, width grown
 * evenly, height grown a quarter below and three quarters above. Returns [x1, x2, y1, y2] (ints, clamped).
 */
export function wanFaceBox(box: { minX: number; minY: number; maxX: number; maxY: number }, scale: number, width: number, height: number): [number, number, number, number] {
  const iw = box.maxX - box.minX;
  const ih = box.maxY - box.minY;
  const area = iw * ih * scale;
  const nw = Math.sqrt(area * (iw / ih));
  const nh = Math.sqrt(area * (ih / iw));
  const dw = (nw - iw) / 2;
  const dh = (nh - ih) / 4;
  return [
    Math.trunc(Math.max(box.minX - dw, 0)),
    Math.trunc(Math.min(box.maxX + dw, width)),
    Math.trunc(Math.max(box.minY - 3 * dh, 0)),
    Math.trunc(Math.min(box.maxY + dh, height)),
  ];
}

/**
 * The face landmark box reshoot can give from COCO-17 (Wan uses 68 WholeBody face landmarks, which
 * COCO-17 lacks): x from the ears (or eyes widened to twice their distance), y from the eye line,
 * 0.25 face widths above it (brows) to 0.85 below (chin). An approximation, documented as such;
 * null when no two head points are valid.
 */
export function faceLandmarkBoxFromCoco(pose: PoseFrame | null | undefined): { minX: number; minY: number; maxX: number; maxY: number } | null {
  if (!pose?.found) return null;
  const k = pose.keypoints;
  const v = (i: number) => (k[i]?.valid ? k[i] : null);
  const [nose, le, re, lear, rear] = [v(0), v(1), v(2), v(3), v(4)];
  let x0: number;
  let x1: number;
  if (lear && rear) [x0, x1] = [Math.min(lear.x, rear.x), Math.max(lear.x, rear.x)];
  else if (le && re) {
    const c = (le.x + re.x) / 2;
    const d = Math.abs(le.x - re.x);
    [x0, x1] = [c - d, c + d];
  } else return null;
  const w = Math.max(x1 - x0, 4);
  const eyes = [le, re].filter((p): p is NonNullable<typeof p> => p !== null);
  const eyeY = eyes.length ? eyes.reduce((s, p) => s + p.y, 0) / eyes.length : nose ? nose.y - 0.15 * w : (lear!.y + rear!.y) / 2;
  return { minX: x0, maxX: x0 + w, minY: eyeY - 0.25 * w, maxY: eyeY + 0.85 * w };
}
